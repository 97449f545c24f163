import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort } from './ports.js';

/** Debian's PostgreSQL server binaries, newest first; undefined when none is installed. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((name) => fs.existsSync(path.join(root, name, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/**
 * A PostgreSQL cluster of the test's own (initdb + pg_ctl) on a free loopback port with its own
 * socket directory, to stop, start and freeze without touching the machine's server. Run as the
 * `postgres` user when the tests run as root (initdb refuses root).
 */
export class PrivatePostgres {
  readonly #bin: string;
  readonly #dir: string;
  readonly port: number;

  private constructor(bin: string, dir: string, port: number) {
    this.#bin = bin;
    this.#dir = dir;
    this.port = port;
  }

  static async create(): Promise<PrivatePostgres> {
    const bin = postgresBinDir();
    if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-pg-'));
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
    const cluster = new PrivatePostgres(bin, dir, await freeTcpPort());
    cluster.#run('initdb', ['-D', cluster.#data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    fs.mkdirSync(cluster.#sockets, { recursive: true });
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', cluster.#sockets]);
    cluster.start();
    return cluster;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get #data(): string {
    return path.join(this.#dir, 'data');
  }

  get #sockets(): string {
    return path.join(this.#dir, 'sockets');
  }

  start(): void {
    const options = `-p ${this.port} -k ${this.#sockets} -c listen_addresses=127.0.0.1 -c fsync=off`;
    this.#run('pg_ctl', [
      '-D',
      this.#data,
      '-w',
      '-t',
      '30',
      '-o',
      options,
      '-l',
      path.join(this.#dir, 'log'),
      'start',
    ]);
  }

  stop(): void {
    this.#run('pg_ctl', ['-D', this.#data, '-w', '-t', '30', '-m', 'fast', 'stop']);
  }

  /** SIGSTOP (freeze) or SIGCONT (thaw) the postmaster and every backend of this cluster. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    const postmaster = Number(
      fs.readFileSync(path.join(this.#data, 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0);
    for (const pid of [postmaster, ...children]) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }

  destroy(): void {
    try {
      this.signal('SIGCONT');
      this.#run('pg_ctl', ['-D', this.#data, '-w', '-t', '30', '-m', 'immediate', 'stop']);
    } catch {
      // already stopped
    }
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  #run(tool: string, args: string[]): void {
    const command = path.join(this.#bin, tool);
    if (process.getuid?.() === 0) {
      execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });
    } else {
      execFileSync(command, args, { stdio: 'pipe' });
    }
  }
}
