/**
 * What this machine gives Vigil, one check at a time: each says pass, warn or fail, what it saw,
 * and for anything short of pass, the fix. Checks never throw; a broken part is a `fail`.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import type { AnalysisEngine } from '../analysis/index.js';
import type { Config } from '../config/index.js';
import { describeRejections, ffmpegFix, packagedFfmpegName, resolveFfmpeg } from '../sampler/index.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

const pass = (name: string, detail: string): CheckResult => ({ name, status: 'pass', detail });
const warn = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'warn',
  detail,
  fix,
});
const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'fail',
  detail,
  fix,
});
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

/** Node.js 20.19 or newer (package.json `engines`: `require(esm)` and the test runner need it). */
export function checkNode(version = process.versions.node): CheckResult {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return ok
    ? pass('node', `Node.js ${version}`)
    : fail('node', `Node.js ${version} is too old`, 'install Node.js 20.19 or newer');
}

export async function checkDatabase(config: Config): Promise<CheckResult> {
  if (!config.databaseUrl) {
    const dir = path.join(config.dataDir, 'pg');
    return pass(
      'database',
      `embedded PGlite in ${dir}${fs.existsSync(dir) ? '' : ' (created on first start)'}`,
    );
  }
  const { default: postgres } = await import('postgres');
  const sql = postgres(config.databaseUrl, {
    max: 1,
    connect_timeout: 5,
    idle_timeout: 1,
    onnotice: () => {},
  });
  try {
    const [row] = await sql<{ version: string }[]>`select version()`;
    return pass('database', `PostgreSQL reachable: ${row?.version.split(' ').slice(0, 2).join(' ') ?? '?'}`);
  } catch (error) {
    return fail(
      'database',
      `DATABASE_URL not reachable: ${reason(error)}`,
      'start PostgreSQL or fix DATABASE_URL (unset it to use the embedded database)',
    );
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

export async function checkRedis(config: Config): Promise<CheckResult> {
  if (!config.redisUrl) return pass('redis', 'not configured: in-process events and rate limits (one node)');
  const { Redis } = await import('ioredis');
  const client = new Redis(config.redisUrl, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    return pass('redis', `Redis ${version} reachable`);
  } catch (error) {
    return fail('redis', `REDIS_URL not reachable: ${reason(error)}`, 'start Redis or fix REDIS_URL');
  } finally {
    client.disconnect();
  }
}

/**
 * The sampler's decoder, chosen as the server chooses it (FFMPEG_PATH, system, packaged; by a live
 * probe: VP8 and Opus from loopback RTP, decoded and scaled with the sampler's arguments): which
 * one, from where, its version and decoders, and why any other candidate was passed over.
 */
export async function checkFfmpeg(env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const resolution = await resolveFfmpeg(env);
  const passedOver = resolution.rejected.length ? `; passed over: ${describeRejections(resolution)}` : '';
  if (!resolution.choice) {
    return fail('ffmpeg', `stream analysis is off: ${describeRejections(resolution)}`, ffmpegFix);
  }
  const { path: file, source, version, decoders } = resolution.choice;
  const from = source === 'packaged' ? `packaged (${packagedFfmpegName})` : source;
  return pass(
    'ffmpeg',
    `${version}, ${from}, ${file}; decoders ${decoders.join(', ')}; decodes RTP and scales (live probe)${passedOver}`,
  );
}

interface WorkerBin {
  resolveWorkerBin(): string;
  workerRuns(bin: string | null | undefined): boolean;
  mediasoupVersion(): string | null;
}

/** The mediasoup worker binary: prebuilt or built offline by `npm install`. */
export async function checkMediasoupWorker(workerBin: WorkerBin): Promise<CheckResult> {
  const fix = 'run `npm install` again (it builds the worker offline; see infra/mediasoup/README.md)';
  try {
    const bin = process.env.MEDIASOUP_WORKER_BIN ?? workerBin.resolveWorkerBin();
    if (!workerBin.workerRuns(bin)) return fail('mediasoup', `worker at ${bin} does not run`, fix);
    return pass('mediasoup', `worker ${workerBin.mediasoupVersion() ?? '?'} at ${bin}`);
  } catch (error) {
    return fail('mediasoup', `no mediasoup worker: ${reason(error)}`, fix);
  }
}

/** UDP ports the media workers bind (worker i: RTC_MIN_PORT + i, UDP and TCP). */
export async function checkRtcPorts(config: Config): Promise<CheckResult> {
  const ports = Array.from({ length: config.rtc.workers }, (_, i) => config.rtc.minPort + i);
  const taken: number[] = [];
  for (const port of ports) {
    const socket = dgram.createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '0.0.0.0', () => resolve(true));
    });
    if (free) await new Promise<void>((resolve) => socket.close(() => resolve()));
    else taken.push(port);
  }
  const range = `${ports[0]}-${ports.at(-1)}`;
  if (taken.length > 0) {
    return warn(
      'rtc ports',
      `UDP ${taken.join(', ')} in use (a running Vigil holds them, or another program)`,
      'stop what holds them, or set RTC_MIN_PORT/RTC_MAX_PORT to a free range',
    );
  }
  const ephemeral = ephemeralPorts();
  const exposed = ports.filter(
    (port) => ephemeral && port >= ephemeral.min && port <= ephemeral.max && !ephemeral.reserved(port),
  );
  if (ephemeral && exposed.length > 0) {
    // Seen in CI: an outgoing connection (database, Redis, a webhook) held the WebRtcServer's port.
    return warn(
      'rtc ports',
      `UDP/TCP ${exposed.join(', ')} are free now but inside the kernel's ephemeral range ${ephemeral.min}-${ephemeral.max}, which outgoing connections draw from: one may hold a media port when Vigil (re)starts`,
      `reserve them (sysctl -w net.ipv4.ip_local_reserved_ports=${range}), or set RTC_MIN_PORT below ${ephemeral.min}`,
    );
  }
  return pass('rtc ports', `UDP ${range} free for ${ports.length} media worker(s)`);
}

/** The kernel's ephemeral port range and its reserved ports (Linux); undefined elsewhere. */
function ephemeralPorts(): { min: number; max: number; reserved: (port: number) => boolean } | undefined {
  try {
    const [min, max] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (!min || !max) return undefined;
    // "40000-40003,50000": ranges and single ports, comma-separated (empty: none).
    const spans = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_reserved_ports', 'utf8')
      .trim()
      .split(',')
      .filter(Boolean)
      .map((item) => item.split('-').map(Number))
      .map(([from = 0, to = from]) => [from, to] as const);
    return { min, max, reserved: (port) => spans.some(([from, to]) => port >= from && port <= to) };
  } catch {
    return undefined;
  }
}

/** DATA_DIR: writable, and readable by its owner only (it holds password hashes and faces). */
export function checkDataDir(dataDir: string): CheckResult {
  if (!fs.existsSync(dataDir)) return pass('data dir', `${dataDir} (created owner-only on first start)`);
  try {
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch {
    return fail(
      'data dir',
      `${dataDir} is not writable by this user`,
      `chown it to the user that runs Vigil`,
    );
  }
  const loose: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const mode = fs.lstatSync(full).mode & 0o777;
      if (mode & 0o077) loose.push(`${full} (${mode.toString(8)})`);
      if (entry.isDirectory() && depth < 6 && loose.length < 20) walk(full, depth + 1);
    }
  };
  const top = fs.statSync(dataDir).mode & 0o777;
  if (top & 0o077) loose.unshift(`${dataDir} (${top.toString(8)})`);
  walk(dataDir, 0);
  return loose.length === 0
    ? pass('data dir', `${dataDir}: owner-only`)
    : warn(
        'data dir',
        `readable or writable by others: ${loose.slice(0, 3).join(', ')}${loose.length > 3 ? ` and ${loose.length - 3} more` : ''}`,
        `chmod -R go-rwx ${dataDir}`,
      );
}

/** The analysis backend that loads here, and what one frame costs on it. */
export async function checkAnalysis(config: Config, testImage: string | undefined): Promise<CheckResult> {
  // Loaded on use: the models' packages are heavy, and the other checks should run without them.
  const analysis = await import('../analysis/index.js');
  const { createLogger } = await import('../shared/index.js');
  const fix =
    'run `npm install` again (models/ and the tfjs packages come with it); set ANALYSIS_BACKEND=wasm';
  let engine: AnalysisEngine | undefined;
  try {
    engine = await analysis.AnalysisEngine.create({
      backend: config.analysis.backend,
      threads: 1,
      logger: createLogger('silent'),
    });
    const image = testImage
      ? await analysis.decodeImage(fs.readFileSync(testImage))
      : { width: 640, height: 480, data: new Uint8Array(640 * 480 * 3).fill(128) };
    const frame = (i: number) => ({ ...image, data: new Uint8Array(image.data), at: Date.now() + i });
    // The first frame pays for warm-up (kernels, caches); the figure is the median of the next five.
    await engine.analyseFrame('doctor', frame(0), { objects: true, identity: true });
    const times: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const started = performance.now();
      await engine.analyseFrame('doctor', frame(i), { objects: true, identity: true });
      times.push(performance.now() - started);
    }
    const median = times.sort((a, b) => a - b)[2]!;
    const what = testImage ? path.basename(testImage) : 'a blank 640x480 frame';
    return pass(
      'analysis',
      `${engine.backend} backend loads; ${Math.round(median)} ms a frame, every model (${what})`,
    );
  } catch (error) {
    return fail('analysis', `no analysis backend loads: ${reason(error)}; stream analysis is off`, fix);
  } finally {
    await engine?.close().catch(() => undefined);
  }
}
