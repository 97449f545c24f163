import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { handler } from '../../server/realtime/handle.js';
import { createLogger } from '../../server/shared/index.js';

const call = (deadlineMs?: number) => ({
  event: 'test:event',
  logger: createLogger('silent'),
  ...(deadlineMs === undefined ? {} : { deadlineMs }),
});

describe('socket request handlers (issue 9: a frozen or lost database)', () => {
  it('acks unavailable once the deadline passes instead of waiting forever', async () => {
    const stuck = handler(z.strictObject({}), () => new Promise<never>(() => undefined));
    const started = Date.now();
    expect(await stuck({}, call(100))).toEqual({
      ok: false,
      error: { code: 'unavailable', message: expect.any(String) },
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('acks a lost database connection (also wrapped, as drizzle wraps it) as unavailable, not internal', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const wrapped = new Error('Failed query: select 1', { cause: refused });
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    for (const error of [refused, wrapped, shutdown]) {
      const failing = handler(z.strictObject({}), () => Promise.reject(error));
      expect(await failing({}, call())).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    }
    const bug = handler(z.strictObject({}), () => Promise.reject(new Error('a bug')));
    expect(await bug({}, call())).toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('answers normally within the deadline', async () => {
    const quick = handler(z.strictObject({ n: z.number() }), async ({ n }) => ({ doubled: n * 2 }));
    expect(await quick({ n: 2 }, call(1000))).toEqual({ ok: true, data: { doubled: 4 } });
  });
});
