import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A TCP port that was free a moment ago (bound to port 0, then released). */
export async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RtcPortRange {
  min: number;
  max: number;
  /** The RTC_MIN_PORT/RTC_MAX_PORT (and one media worker) a test server needs. */
  env: Record<string, string>;
  release(): void;
}

// Below the kernel's ephemeral range (32768+ here), so no outgoing connection of any process
// can hold a WebRtcServer's fixed port; a lock file per block keeps parallel test processes
// (vitest forks, both CI legs' servers) out of each other's block.
const FIRST_PORT = 20_000;
const LAST_PORT = 32_759;
const BLOCK = 20;
const lockDir = path.join(os.tmpdir(), 'vigil-test-rtc-ports');
const held = new Set<string>();
process.once('exit', () => held.forEach((lock) => fs.rmSync(lock, { force: true })));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the block's lock file, or an abandoned one (its process gone); false if another holds it. */
function lockBlock(lock: string): boolean {
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = Number(fs.readFileSync(lock, 'utf8'));
  if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
  fs.rmSync(lock, { force: true });
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false; // another process took it over first
  }
}

async function udpAndTcpFree(port: number): Promise<boolean> {
  const udp = await new Promise<boolean>((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '0.0.0.0', () => socket.close(() => resolve(true)));
  });
  if (!udp) return false;
  return new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/**
 * A 20-port RTC range that no other test process holds and whose WebRtcServer port is free now;
 * `release()` (or this process's exit) hands it back.
 */
export async function reserveRtcPorts(): Promise<RtcPortRange> {
  fs.mkdirSync(lockDir, { recursive: true });
  const blocks = Math.floor((LAST_PORT - FIRST_PORT + 1) / BLOCK);
  const start = Math.floor(Math.random() * blocks);
  for (let i = 0; i < blocks; i += 1) {
    const min = FIRST_PORT + ((start + i) % blocks) * BLOCK;
    const lock = path.join(lockDir, String(min));
    if (!lockBlock(lock)) continue;
    if (!(await udpAndTcpFree(min))) {
      fs.rmSync(lock, { force: true });
      continue;
    }
    held.add(lock);
    const max = min + BLOCK - 1;
    return {
      min,
      max,
      env: { RTC_MIN_PORT: String(min), RTC_MAX_PORT: String(max), MEDIA_WORKERS: '1' },
      release() {
        if (held.delete(lock)) fs.rmSync(lock, { force: true });
      },
    };
  }
  throw new Error(`no free RTC port block between ${FIRST_PORT} and ${LAST_PORT}`);
}
