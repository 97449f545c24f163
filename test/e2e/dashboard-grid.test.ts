import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpFanout } from '../../server/bench/rtp-fanout.js';
import { encodeForRtp, ingestSynthetic, rtpPayloadType } from '../../server/bench/rtp-source.js';
import { launchChromium } from '../support/browser.js';
import { recordViolation, startTestApp, type TestApp } from '../support/app.js';
import { tilePlays } from '../support/pages.js';
import { testdata } from '../support/testdata.js';

const SESSIONS = 14;

/**
 * A dashboard for a real exam, fed by synthetic RTP cameras (not browsers): tiles off screen
 * cost no video, the one that needs attention comes first, filters and pages hide the rest.
 */
describe('the dashboard grid of a large exam', () => {
  let test: TestApp;
  let browser: Browser;
  let fanout: RtpFanout;
  let work: string;
  let examId: string;
  let tenantId: string;
  let dashboard: Page;
  const sessionIds: string[] = [];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-grid-'));
    test = await startTestApp({ name: 'pglite' }, {}, { media: true });
    const tenant = await test.createTenant();
    tenantId = tenant.tenantId;
    const post = async (route: string, body: unknown) =>
      (await test.request<any>('POST', `/api/v1${route}`, { key: tenant.apiKey, body })).body;
    examId = (await post('/exams', { title: 'Large exam', durationMinutes: 60 })).id;
    const clip = await encodeForRtp('video', testdata('video/foreman_cif_299f.mp4'), work, 30);
    fanout = await RtpFanout.start(clip, rtpPayloadType.video, 300);
    const media = test.app.media!;
    for (let index = 0; index < SESSIONS; index++) {
      const candidate = await post(`/exams/${examId}/candidates`, {
        externalId: `grid-${index}`,
        name: `Candidate ${String(index).padStart(2, '0')}`,
      });
      const session = await post(`/exams/${examId}/sessions`, { candidateId: candidate.id });
      sessionIds.push(session.id);
      media.openPeer({ id: `grid-${index}`, examId, sessionId: session.id, role: 'candidate' });
      fanout.add(await ingestSynthetic(media, `grid-${index}`, 'video', 30_000 + index), 30_000 + index);
    }
    browser = await launchChromium();
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: tenant.apiKey,
      body: { name: 'Grid Proctor', examIds: [examId] },
    });
    dashboard = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await dashboard.goto(`${test.url}/proctor?token=${encodeURIComponent(minted.body.token)}&exam=${examId}`);
  });

  afterAll(async () => {
    await browser?.close();
    await fanout?.close();
    await test?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Is the server sending this session's video to the dashboard (its consumer not paused)? */
  const serverSends = (sessionId: string) => {
    const producer = test.app.media!.producersOfSession(sessionId).find((p) => p.kind === 'video');
    const [socket] = [...test.app.realtime!.io.of('/proctor').sockets.values()];
    const peer = test.app.media!.peer(`${socket!.id}:${examId}`);
    const consumer = [...peer.consumers.values()].find((c) => c.producerId === producer?.id);
    return consumer ? !consumer.paused : undefined;
  };

  /** The tiles in view for the grid: on this page and within two screens of the viewport. */
  const onScreen = (): Promise<string[]> =>
    dashboard.evaluate(() => {
      const scope = globalThis as any;
      const height = scope.innerHeight as number;
      return [...scope.document.querySelectorAll('[data-testid=tile]')]
        .filter((tile: any) => {
          if (tile.hidden) return false;
          const box = tile.getBoundingClientRect();
          // The grid keeps tiles within two screens of the viewport playing (NEAR_SCREENS).
          return box.bottom > -2 * height && box.top < 3 * height;
        })
        .map((tile: any) => String(tile.dataset.session));
    });

  it('sends video only for tiles on screen, and resumes a tile scrolled into view', async () => {
    const first = sessionIds[0]!;
    await tilePlays(dashboard, first);
    const visible = await onScreen();
    expect(visible.length).toBeGreaterThan(0);
    expect(visible.length).toBeLessThan(SESSIONS);
    const offScreen = sessionIds.filter((id) => !visible.includes(id));
    await expect
      .poll(() => sessionIds.map((id) => serverSends(id)), { timeout: 10_000 })
      .toEqual(sessionIds.map((id) => visible.includes(id)));

    // The proctor scrolls down to one that was off screen: it plays, and the server sends it.
    const scrolledTo = offScreen.at(-1);
    expect(scrolledTo).toBeDefined();
    await dashboard.locator(`[data-testid=tile][data-session="${scrolledTo}"]`).scrollIntoViewIfNeeded();
    await expect.poll(() => serverSends(scrolledTo!), { timeout: 10_000 }).toBe(true);
    await tilePlays(dashboard, scrolledTo!);
    await dashboard.evaluate(() => (globalThis as any).scrollTo(0, 0));
  });

  it('puts the session that needs attention first, filters to it, and pages the rest', async () => {
    const last = sessionIds.at(-1)!;
    await recordViolation(test, { tenantId, examId, id: last }, { type: 'multiple_faces', snapshots: [] });
    const order = (id: string) =>
      dashboard.$eval(`[data-testid=tile][data-session="${id}"]`, (tile: any) => String(tile.style.order));
    await expect.poll(() => order(last), { timeout: 10_000 }).toBe('0');
    await expect.poll(onScreen, { timeout: 5_000 }).toContain(last);
    await tilePlays(dashboard, last);

    await dashboard.selectOption('#tile-filter', 'attention');
    await expect.poll(onScreen).toEqual([last]);
    await expect.poll(() => sessionIds.filter((id) => serverSends(id)), { timeout: 10_000 }).toEqual([last]);
    await dashboard.selectOption('#tile-filter', 'all');

    // Twelve a page: page 2 holds the last two by name.
    await dashboard.selectOption('#tile-sort', 'name');
    await dashboard.selectOption('#tile-page-size', '12');
    await expect(dashboard.textContent('#tile-page')).resolves.toContain('Page 1 of 2');
    await dashboard.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => onScreen().then((ids) => ids.sort())).toEqual(sessionIds.slice(12).sort());
    await expect
      .poll(() => sessionIds.filter((id) => serverSends(id)), { timeout: 10_000 })
      .toEqual(sessionIds.slice(12));
    await tilePlays(dashboard, sessionIds[12]!);
  });
});
