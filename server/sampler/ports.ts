import dgram from 'node:dgram';

/**
 * Ports leased in this process and not yet released. The OS hands out a just-closed probe
 * port again, so without this two taps starting together could be given the same port.
 */
const held = new Set<number>();

export interface PortLease {
  port: number;
  /** Gives the port back to the in-process pool. Safe to call twice. */
  release(): void;
}

const maxProbes = 200;

/**
 * Finds a free UDP port on `host` by binding a probe socket (port 0) and closing it just before
 * use: mediasoup's worker range is far too small for one plain transport per tap. Another
 * process can still take it in the few milliseconds before mediasoup binds it; callers retry.
 */
export async function leaseUdpPort(host: string): Promise<PortLease> {
  // Every probe stays bound until the end, so the OS never offers the same port twice here.
  const probes: dgram.Socket[] = [];
  let port: number | undefined;
  try {
    for (let attempt = 0; port === undefined; attempt += 1) {
      if (attempt >= maxProbes) throw new Error(`no free UDP port on ${host}`);
      const probe = await bindProbe(host, probes);
      const candidate = probe?.address().port;
      if (candidate !== undefined && !held.has(candidate)) port = candidate;
    }
  } finally {
    await Promise.all(probes.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }
  const leased = port;
  held.add(leased);
  let released = false;
  return {
    port: leased,
    release() {
      if (released) return;
      released = true;
      held.delete(leased);
    },
  };
}

async function bindProbe(host: string, probes: dgram.Socket[]): Promise<dgram.Socket | undefined> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind({ port: 0, address: host, exclusive: true }, () => {
      probes.push(socket);
      resolve(socket);
    });
  });
}
