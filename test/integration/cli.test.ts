import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { backends } from '../support/backends.js';
import { freeTcpPort, reserveRtcPorts } from '../support/ports.js';
import { startTestApp, type TestApp } from '../support/app.js';

const root = path.resolve(import.meta.dirname, '../..');
const cliArgs = ['--import', 'tsx', path.join(root, 'server/cli/main.ts')];

function vigil(args: string[], env: Record<string, string | undefined>) {
  const result = spawnSync(process.execPath, [...cliArgs, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The same, without blocking this process: for commands answered by a server running in it
 * (spawnSync would stop its event loop, and the command would wait forever).
 */
function vigilBeside(args: string[], env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [...cliArgs, ...args],
      {
        cwd: root,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));

describe('vigil CLI', () => {
  let running: TestApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  describe.each(backends())('on $name', (backend) => {
    it('creates an API key before the server ever ran, and the key works once it does', async () => {
      const dataDir = tempDir();
      const env = { DATA_DIR: dataDir, DATABASE_URL: backend.databaseUrl };
      const created = vigil(['apikey', 'create', '--name', 'Acme University'], env);
      expect(created.stderr).toBe('');
      expect(created.code).toBe(0);
      const key = /API key .*: (vgl_\S+)/.exec(created.stdout)?.[1];
      expect(key).toBeDefined();

      const tenantId = /tenant: (\S+)/.exec(created.stdout)?.[1];
      const user = vigil(
        [
          'user',
          'create',
          '--email',
          `admin-${Date.now()}@acme.test`,
          '--password',
          'correct horse battery',
          '--role',
          'admin',
          '--tenant',
          tenantId!,
        ],
        env,
      );
      expect(user.code).toBe(0);

      running = await startTestApp(backend, { DATA_DIR: dataDir });
      const exam = await running.request('POST', '/api/v1/exams', {
        key: key!,
        body: { title: 'CLI exam', durationMinutes: 15 },
      });
      expect(exam.status).toBe(201);
    });
  });

  it('applies migrations with `migrate`', () => {
    const result = vigil(['migrate'], { DATA_DIR: tempDir() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('migrations applied (pglite)');
  });

  it('runs commands through the server that holds the embedded database, and the results work at once', async () => {
    running = await startTestApp({ name: 'pglite' });
    const env = { DATA_DIR: running.dataDir };
    const created = await vigilBeside(['apikey', 'create', '--name', 'While serving'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const key = /API key .*: (vgl_\S+)/.exec(created.stdout)?.[1];
    const tenantId = /tenant: (\S+)/.exec(created.stdout)?.[1];
    const exam = await running.request('POST', '/api/v1/exams', {
      key: key!,
      body: { title: 'Made while serving', durationMinutes: 15 },
    });
    expect(exam.status).toBe(201);

    const email = 'proctor@serving.test';
    const proctorArgs = `user create --email ${email} --password correct-horse-battery --role proctor`;
    const createProctor = () => vigilBeside([...proctorArgs.split(' '), '--tenant', tenantId!], env);
    const user = await createProctor();
    expect(user.stdout).toMatch(/user \S+ \(proctor\) created in tenant /);
    const login = await running.request('POST', '/api/v1/auth/token', {
      body: { email, password: 'correct-horse-battery' },
    });
    expect(login.status).toBe(200);

    // The server's own checks answer: a duplicate e-mail, an unknown tenant.
    const duplicate = await createProctor();
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain(`a user with e-mail ${email} exists`);
    const unknownTenant = await vigilBeside(
      ['apikey', 'create', '--name', 'x', '--tenant', '00000000-0000-4000-8000-000000000000'],
      env,
    );
    expect(unknownTenant.code).toBe(1);
    expect(unknownTenant.stderr).toMatch(/^vigil: .*tenant/);

    const migrated = await vigilBeside(['migrate'], env);
    expect(migrated.stdout).toContain('migrations applied (pglite, by the running server)');

    // Once the server stops, the CLI opens the database itself again.
    await running.close();
    running = undefined;
    const after = await vigilBeside(['apikey', 'create', '--name', 'After serving'], env);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('API key');
  }, 90_000); // four CLI processes, each compiling with tsx: slow on a busy 2-core machine

  it('answers bad requests on the control socket with the contract error shape', async () => {
    running = await startTestApp({ name: 'pglite' });
    const socketPath = path.join(running.dataDir, 'vigil.sock');
    expect(fs.statSync(socketPath).mode & 0o777).toBe(0o600);
    const ask = (body: string, method = 'POST', urlPath = '/commands') =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const request = http.request({ socketPath, path: urlPath, method }, (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
        });
        request.on('error', reject);
        request.end(body);
      });
    expect(await ask('{not json')).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
    expect(await ask(JSON.stringify({ command: 'drop.tables' }))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_input' } },
    });
    expect(await ask(JSON.stringify({ command: 'apikey.create', name: '' }))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_input', message: expect.stringContaining('--name') } },
    });
    expect(await ask('x'.repeat(70_000))).toMatchObject({
      status: 413,
      body: { error: { code: 'payload_too_large' } },
    });
    expect(await ask('', 'GET', '/')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    // Still serving after all of that.
    expect((await running.request('GET', '/healthz')).status).toBe(200);
    await running.close();
    running = undefined;
    expect(fs.existsSync(socketPath)).toBe(false);
  });

  it('names the bad variable when the configuration is invalid', () => {
    const result = vigil(['migrate'], { DATA_DIR: tempDir(), PORT: 'eighty', DATABASE_URL: 'mysql://nope' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('requires JWT_SECRET in production', () => {
    const result = vigil(['migrate'], { DATA_DIR: tempDir(), NODE_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('JWT_SECRET');
  });

  it('validates command options and rejects unknown commands', () => {
    const weak = vigil(['user', 'create', '--email', 'a@b.test', '--password', 'short', '--role', 'root'], {
      DATA_DIR: tempDir(),
    });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('--password');
    expect(weak.stderr).toContain('--role');
    const unknown = vigil(['frobnicate'], { DATA_DIR: tempDir() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('usage: vigil');
  });

  it('serves /healthz with no database or Redis configured, and stops cleanly on SIGTERM', async () => {
    const port = await freeTcpPort();
    const rtc = await reserveRtcPorts();
    onTestFinished(() => rtc.release());
    const child = spawn(process.execPath, [...cliArgs, 'serve'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: tempDir(),
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...rtc.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    try {
      let health: globalThis.Response | undefined;
      for (let attempt = 0; attempt < 100 && !health?.ok; attempt += 1) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (!health?.ok) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(health?.status, output).toBe(200);
      expect(await health!.json()).toEqual({ status: 'ok' });
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
