/**
 * What every benchmark starts from: a private data folder and port range, the embedded
 * database with no Redis (a bench measures one node), and REST calls straight into the app.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { VigilApp } from '../app/index.js';
import { loadConfig, type Config } from '../config/index.js';

/** A config for one bench run in a fresh temporary `DATA_DIR` (the caller removes `work`). */
export function benchConfig(
  prefix: string,
  overrides: Record<string, string> = {},
): { work: string; config: Config } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // A random 20-port range, so a bench beside a running server or a test run (20000–32759) finds
  // its own; below the kernel's ephemeral ports (32768+), which outgoing connections take.
  const minPort = 10000 + Math.floor(Math.random() * 500) * 20;
  const config = loadConfig({
    ...process.env,
    DATA_DIR: work,
    DATABASE_URL: '',
    REDIS_URL: '',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    RTC_MIN_PORT: String(minPort),
    RTC_MAX_PORT: String(minPort + 19),
    ...overrides,
  });
  return { work, config };
}

export type BenchCall = <T>(
  method: 'POST' | 'PUT',
  route: string,
  payload: object | Buffer | string,
  type?: string,
) => Promise<T>;

/** `/api/v1` requests with an API key, in-process (no sockets): a failure throws with the body. */
export function benchApi(app: VigilApp, key: string): BenchCall {
  return async <T>(
    method: 'POST' | 'PUT',
    route: string,
    payload: object | Buffer | string,
    type = 'application/json',
  ) => {
    const response = await app.http.inject({
      method,
      url: `/api/v1${route}`,
      headers: { 'x-api-key': key, 'content-type': type },
      payload,
    });
    if (response.statusCode >= 300) throw new Error(`${method} ${route}: ${response.body}`);
    return response.json<T>();
  };
}
