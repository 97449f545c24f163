import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';

/**
 * Ports leased in this process and not yet released. The OS hands out a just-closed probe
 * port again, so without this two taps starting together could be given the same pair.
 */
const held = new Set<number>();

export interface PortPair {
  /** RTP port; RTCP is `rtp + 1` (ffmpeg 5.1's SDP demuxer ignores `a=rtcp:` and binds there). */
  rtp: number;
  rtcp: number;
}

export interface PortLease {
  pairs: PortPair[];
  /** Gives the ports back to the in-process pool. Safe to call twice. */
  release(): void;
}

const maxProbes = 200;

/**
 * Finds `count` pairs of adjacent free UDP ports on `host` by binding probe sockets (port 0,
 * then +1) and closing them just before use. Another process can still take one in the few
 * milliseconds before ffmpeg or mediasoup binds it; callers retry a start that fails to bind.
 */
export async function leaseUdpPortPairs(host: string, count: number): Promise<PortLease> {
  // Every probe stays bound until the end, so the OS never offers the same port twice here.
  const probes: dgram.Socket[] = [];
  const pairs: PortPair[] = [];
  try {
    for (let attempt = 0; pairs.length < count; attempt += 1) {
      if (attempt >= maxProbes) throw new Error(`no free pair of UDP ports on ${host}`);
      const first = await bindProbe(host, 0, probes);
      if (!first) continue;
      const rtp = first.address().port;
      if (rtp >= 65535 || held.has(rtp) || held.has(rtp + 1)) continue;
      const second = await bindProbe(host, rtp + 1, probes);
      if (second) pairs.push({ rtp, rtcp: rtp + 1 });
    }
  } finally {
    await Promise.all(probes.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }
  const ports = pairs.flatMap((pair) => [pair.rtp, pair.rtcp]);
  for (const port of ports) held.add(port);
  let released = false;
  return {
    pairs,
    release() {
      if (released) return;
      released = true;
      for (const port of ports) held.delete(port);
    },
  };
}

async function bindProbe(
  host: string,
  port: number,
  probes: dgram.Socket[],
): Promise<dgram.Socket | undefined> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind({ port, address: host, exclusive: true }, () => {
      probes.push(socket);
      resolve(socket);
    });
  });
}

/**
 * Whether some socket is bound to UDP `port` (Linux: /proc/net/udp{,6}); undefined where
 * that cannot be read. Reading is passive: probing by binding would steal the port.
 */
export async function udpPortBound(port: number): Promise<boolean | undefined> {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let readable = false;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n')) {
      const local = line.trim().split(/\s+/)[1];
      if (local?.endsWith(suffix)) return true;
    }
  }
  return readable ? false : undefined;
}
