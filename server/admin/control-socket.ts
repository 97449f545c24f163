/**
 * The embedded database (PGlite) lives inside the `vigil serve` process, so a second process
 * cannot open it. While the server runs it listens on a Unix socket in `DATA_DIR` and carries
 * out the CLI's administration commands itself. Only local users who can write to `DATA_DIR`
 * (who could read the database files anyway) can reach it; the socket is owner-only as well.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { AppError, toErrorBody, type Logger } from '../shared/index.js';
import type { Database } from '../db/index.js';
import { adminCommand, runAdminCommand, type AdminCommand, type AdminResult } from './commands.js';

const maxBodyBytes = 64 * 1024;
/** sun_path holds 108 bytes on Linux, 104 on macOS, terminator included. */
const maxSocketPathBytes = 103;

export function controlSocketPath(dataDir: string): string {
  return path.resolve(dataDir, 'vigil.sock');
}

export interface ControlSocket {
  close(): Promise<void>;
}

/**
 * Starts listening, or returns undefined (with a warning) where a socket cannot be made, e.g. a
 * `DATA_DIR` path too long for one: the CLI then asks the user to stop the server instead.
 */
export async function startControlSocket(options: {
  dataDir: string;
  db: Database;
  databaseKind: string;
  logger: Logger;
}): Promise<ControlSocket | undefined> {
  const socketPath = controlSocketPath(options.dataDir);
  if (Buffer.byteLength(socketPath) > maxSocketPathBytes) {
    options.logger.warn(
      { socketPath },
      'DATA_DIR path too long for a control socket; stop the server to use the CLI',
    );
    return undefined;
  }
  // This process holds the embedded database's lock, so a socket file here is a dead server's.
  fs.rmSync(socketPath, { force: true });
  const server = http.createServer((request, response) => {
    void answer(request, options).then(({ status, body }) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: socketPath, readableAll: false, writableAll: false }, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
  } catch (error) {
    options.logger.warn({ err: error, socketPath }, 'no control socket; stop the server to use the CLI');
    server.close();
    return undefined;
  }
  options.logger.debug({ socketPath }, 'control socket listening');
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        fs.rmSync(socketPath, { force: true });
      }),
  };
}

async function answer(
  request: http.IncomingMessage,
  options: { db: Database; databaseKind: string; logger: Logger },
): Promise<{ status: number; body: AdminResult | ReturnType<typeof toErrorBody> }> {
  try {
    if (request.method !== 'POST' || request.url !== '/commands') {
      throw new AppError('not_found', 'the control socket answers POST /commands only');
    }
    const command = parseCommand(await readBody(request));
    options.logger.info({ command: command.command }, 'running a CLI command for a local user');
    return { status: 200, body: await runAdminCommand(options.db, options.databaseKind, command) };
  } catch (error) {
    if (error instanceof AppError) return { status: error.status, body: toErrorBody(error) };
    options.logger.error({ err: error }, 'a CLI command failed');
    return {
      status: 500,
      body: toErrorBody(new AppError('internal', 'the command failed; see the server log')),
    };
  }
}

function parseCommand(text: string): AdminCommand {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('invalid_json', 'the request body is not JSON');
  }
  const parsed = adminCommand.safeParse(json);
  if (!parsed.success) {
    throw new AppError('invalid_input', parsed.error.issues.map((issue) => issue.message).join('; '));
  }
  return parsed.data;
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // An oversized body is read to its end and dropped, so the caller still gets its answer.
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > maxBodyBytes) {
        reject(new AppError('payload_too_large', `a command is at most ${maxBodyBytes} bytes`));
      } else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

/**
 * Sends a command to the server running on `dataDir`. Resolves to undefined when no server
 * listens there (no socket, or a stale one), so the caller opens the database itself.
 */
export function sendToRunningServer(
  dataDir: string,
  command: AdminCommand,
): Promise<AdminResult | undefined> {
  const socketPath = controlSocketPath(dataDir);
  if (!fs.existsSync(socketPath)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { socketPath, path: '/commands', method: 'POST', headers: { 'content-type': 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as
              AdminResult | ReturnType<typeof toErrorBody>;
            if ('error' in body) reject(new AppError(body.error.code, body.error.message));
            else resolve(body);
          } catch {
            reject(new AppError('internal', `unreadable answer from the server at ${socketPath}`));
          }
        });
        response.on('error', reject);
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(undefined);
      else reject(error);
    });
    request.end(JSON.stringify(command));
  });
}
