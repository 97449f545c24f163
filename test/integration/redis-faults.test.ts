/**
 * Issue 9: Redis killed and restarted under traffic. A private `redis-server` on its own
 * loopback port (never the machine's own), shared by two nodes on the PostgreSQL leg.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/backends.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { freeTcpPort } from '../support/ports.js';
import { connect, nextEvent, request, type ClientSocket } from '../support/sockets.js';

const postgres = backends().find((backend) => backend.name === 'postgres');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(!!postgres && fs.existsSync('/usr/bin/redis-server'))(
  'Redis killed and restarted (private redis-server)',
  () => {
    let port: number;
    let dir: string;
    let redis: ChildProcess | undefined;
    let nodeA: TestApp;
    let nodeB: TestApp;
    let apiKey: string;
    const sockets: ClientSocket[] = [];

    const startRedis = async () => {
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
        {
          stdio: 'ignore',
        },
      );
      for (let attempt = 0; attempt < 50; attempt += 1) {
        await sleep(100);
        if (redis.exitCode !== null) throw new Error('redis-server exited');
        const ready = await new Promise<boolean>((resolve) => {
          const probe = spawn('redis-cli', ['-p', String(port), 'ping'], {
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          let out = '';
          probe.stdout.on('data', (chunk) => (out += chunk));
          probe.on('close', () => resolve(out.includes('PONG')));
        });
        if (ready) return;
      }
      throw new Error('redis-server did not start');
    };
    const killRedis = async () => {
      const child = redis;
      redis = undefined;
      if (!child || child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    };

    beforeAll(async () => {
      port = await freeTcpPort();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-redis-'));
      await startRedis();
      const backend = { ...postgres!, redisUrl: `redis://127.0.0.1:${port}` };
      nodeA = await startTestApp(backend, {}, { media: true });
      nodeB = await startTestApp(backend, {}, { media: true });
      ({ apiKey } = await nodeA.createTenant());
    }, 60_000);
    afterEach(() => {
      for (const socket of sockets.splice(0)) socket.close();
    });
    afterAll(async () => {
      await nodeA?.close();
      await nodeB?.close();
      await killRedis();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('keeps the API and sockets working while Redis is down, and cross-node events resume after', async () => {
      const seeded = await seedSession(nodeA, apiKey);
      const candidate = await connect(nodeA.url, '/candidate', seeded.candidateToken);
      sockets.push(candidate);
      expect((await nextEvent<any>(candidate, 'session:status')).status).toBe('in_progress');

      await killRedis();
      // The API on both nodes, and the candidate's socket, keep working.
      for (const node of [nodeA, nodeB]) {
        const exam = await node.request('POST', '/api/v1/exams', {
          key: apiKey,
          body: { title: 'During the Redis outage', durationMinutes: 10 },
        });
        expect(exam.status).toBe(201);
      }
      expect(
        await request(candidate, 'client:signal', {
          type: 'window_blur',
          at: new Date().toISOString(),
          seq: 1,
        }),
      ).toMatchObject({ ok: true });

      await startRedis();
      // Cross-node events resume: a pause through node B reaches the candidate on node A.
      let told = false;
      for (let attempt = 0; attempt < 20 && !told; attempt += 1) {
        await sleep(500);
        const action = attempt % 2 === 0 ? 'pause' : 'resume';
        const waiting = nextEvent<any>(
          candidate,
          'session:status',
          (event) => event.status === (action === 'pause' ? 'paused' : 'in_progress'),
          1500,
        ).then(
          () => true,
          () => false,
        );
        expect(
          (
            await nodeB.request('POST', `/api/v1/sessions/${seeded.id}/actions`, {
              key: apiKey,
              body: { action },
            })
          ).status,
        ).toBe(200);
        told = await waiting;
      }
      expect(told).toBe(true);
    }, 90_000);
  },
);
