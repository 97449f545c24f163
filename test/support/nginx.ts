import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findOnPath } from '../../server/sampler/index.js';
import { freeTcpPort } from './ports.js';

/** NGINX_PATH, else nginx on PATH, else Debian's /usr/sbin/nginx (not on a plain user's PATH). */
export function findNginx(): string | undefined {
  if (process.env.NGINX_PATH) return process.env.NGINX_PATH;
  return findOnPath('nginx') ?? (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
}
const shippedConfig = path.resolve(import.meta.dirname, '../../infra/nginx.conf');

export interface RunningNginx {
  url: string;
  close(): Promise<void>;
}

/**
 * Debian's nginx running the load-balancer config that `infra/compose.yaml` ships, with its
 * two upstream nodes (`vigil-a`, `vigil-b`) pointed at `nodes` and its port at a free one.
 */
export async function startShippedNginx(nodes: [string, string]): Promise<RunningNginx> {
  const nginxPath = findNginx();
  if (!nginxPath || !fs.existsSync(nginxPath)) {
    throw new Error(
      `nginx not found (${nginxPath ?? 'none on PATH'}): install Debian's nginx-light (CI does) or set NGINX_PATH`,
    );
  }
  const port = await freeTcpPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-nginx-'));
  const site = fs
    .readFileSync(shippedConfig, 'utf8')
    .replace('vigil-a:8080', new URL(nodes[0]).host)
    .replace('vigil-b:8080', new URL(nodes[1]).host)
    .replace(/listen 8080;/, `listen 127.0.0.1:${port};`);
  fs.writeFileSync(path.join(dir, 'site.conf'), site);
  const main = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    main,
    [
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      'events { worker_connections 512; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (name) => `  ${name}_temp_path ${dir}/${name};`,
      ),
      `  include ${dir}/site.conf;`,
      '}',
    ].join('\n'),
  );
  const child = spawn(nginxPath, ['-c', main, '-e', `${dir}/error.log`, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; ; attempt += 1) {
    if (await accepts(port)) break;
    if (child.exitCode !== null || attempt > 50) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${stderr || fs.readFileSync(`${dir}/error.log`, 'utf8')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      child.kill('SIGQUIT');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
