import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { seedSession, startTestApp, type TestApp } from '../support/app.js';
import { tilePlays } from '../support/pages.js';
import { fakeCameraY4m, fakeMicrophoneWav } from '../support/testdata.js';

/** What a proctor sees of one tile, read in the page. */
interface TileState {
  currentTime: number;
  hasStream: boolean;
  error: string;
  placeholder: string | null;
  listening: boolean;
}

function tileState(page: Page, sessionId: string): Promise<TileState> {
  return page.evaluate((id) => {
    // Runs in the page (no DOM types in this Node program).
    const tile = (globalThis as any).document.querySelector(`[data-testid=tile][data-session="${id}"]`);
    const video = tile?.querySelector('video');
    const placeholder = tile?.querySelector('.placeholder');
    const audio = tile?.querySelector('audio');
    return {
      currentTime: Number(video?.currentTime ?? 0),
      hasStream: Boolean(video?.srcObject),
      error: String(tile?.querySelector('.tile-error')?.textContent ?? ''),
      placeholder: placeholder && !placeholder.hidden ? String(placeholder.textContent) : null,
      listening: Boolean(audio?.srcObject),
    };
  }, sessionId);
}

/**
 * A proctor watches a tile as through an exam, not only its first seconds: a minute of playing,
 * Listen on and off, a candidate whose network drops, a dashboard reload. The tile plays again
 * each time, and the SFU holds no transport or consumer the pages let go.
 */
describe('a dashboard tile through an exam', () => {
  let test: TestApp;
  let candidateBrowser: Browser;
  let proctorBrowser: Browser;
  let apiKey: string;

  beforeAll(async () => {
    const videoFile = fakeCameraY4m('video/foreman_cif_299f.mp4', { seconds: 10 });
    const audioFile = fakeMicrophoneWav({ speech: 'Vigil endurance test. One two three four five.' });
    test = await startTestApp({ name: 'pglite' }, {}, { media: true });
    ({ apiKey } = await test.createTenant());
    [candidateBrowser, proctorBrowser] = await Promise.all([
      launchChromium({ videoFile, audioFile }),
      launchChromium(),
    ]);
  });

  afterAll(async () => {
    await candidateBrowser?.close();
    await proctorBrowser?.close();
    await test?.close();
  });

  it('keeps playing for a minute and through Listen, a network drop and a reload', async () => {
    const session = await seedSession(test, apiKey);
    const minted = await test.request<any>('POST', '/api/v1/proctor-tokens', {
      key: apiKey,
      body: { name: 'Endurance Proctor', examIds: [session.examId] },
    });
    const dashboardUrl = `${test.url}/proctor?token=${encodeURIComponent(minted.body.token)}&exam=${session.examId}`;
    const dashboard = await proctorBrowser.newPage();
    const pageErrors: string[] = [];
    dashboard.on('pageerror', (error) => pageErrors.push(error.message));
    await dashboard.goto(dashboardUrl);
    const candidate = await candidateBrowser.newPage();
    await candidate.goto(`${test.url}/candidate?token=${encodeURIComponent(session.candidateToken)}`);
    await candidate.click('[data-testid=join]');
    await tilePlays(dashboard, session.id);

    const router = (await test.app.media!.room(session.examId)).router;
    /** Transports on the exam's router, and consumers of each of the candidate's producers. */
    const sfu = async () => {
      const dump = await router.dump();
      return {
        transports: dump.transportIds.length,
        consumers: dump.mapProducerIdConsumerIds.reduce((sum, entry) => sum + entry.values.length, 0),
      };
    };
    // One send transport (candidate) + one receive transport (dashboard), one video consumer.
    await expect.poll(sfu, { timeout: 5_000 }).toEqual({ transports: 2, consumers: 1 });

    // A minute of watching: the picture keeps moving and no error appears.
    let last = (await tileState(dashboard, session.id)).currentTime;
    for (let elapsed = 0; elapsed < 60_000; elapsed += 5_000) {
      await dashboard.waitForTimeout(5_000);
      const state = await tileState(dashboard, session.id);
      expect(state, `after ${elapsed + 5_000} ms`).toMatchObject({
        hasStream: true,
        error: '',
        placeholder: null,
      });
      expect(state.currentTime, `after ${elapsed + 5_000} ms`).toBeGreaterThan(last + 3);
      last = state.currentTime;
    }

    // Listen on: the microphone plays and the SFU has an audio consumer; off: it stops, video plays on.
    const listen = dashboard.locator(`[data-testid=tile][data-session="${session.id}"]`).getByRole('button', {
      name: 'Listen',
    });
    await listen.click();
    await expect.poll(() => tileState(dashboard, session.id).then((s) => s.listening)).toBe(true);
    await expect.poll(sfu).toEqual({ transports: 2, consumers: 2 });
    await listen.click();
    await expect.poll(() => tileState(dashboard, session.id).then((s) => s.listening)).toBe(false);
    const paused = [...test.app.media!.peer(proctorPeerId()).consumers.values()].map((c) => ({
      kind: c.kind,
      paused: c.paused,
    }));
    expect(paused).toEqual(
      expect.arrayContaining([
        { kind: 'audio', paused: true },
        { kind: 'video', paused: false },
      ]),
    );
    await tilePlays(dashboard, session.id);

    // The candidate's network drops (the connection under its socket closes) and comes back.
    const camera = () => test.app.media!.producersOfSession(session.id).find((p) => p.kind === 'video')?.id;
    const cameraBefore = camera();
    const candidateSockets = [...test.app.realtime!.io.of('/candidate').sockets.values()];
    expect(candidateSockets).toHaveLength(1);
    candidateSockets[0]!.conn.close();
    await expect.poll(camera, { timeout: 20_000 }).not.toBe(cameraBefore);
    await expect.poll(camera).toBeDefined();
    await tilePlays(dashboard, session.id);
    expect((await tileState(dashboard, session.id)).error).toBe('');
    // The tile shows the new camera stream, not a frozen frame of the old one.
    const shown = [...test.app.media!.peer(proctorPeerId()).consumers.values()].filter(
      (c) => c.kind === 'video',
    );
    expect(shown.map((c) => c.producerId)).toEqual([camera()]);
    // The old send transport and its consumer went with the old connection.
    await expect.poll(sfu, { timeout: 10_000 }).toEqual({ transports: 2, consumers: 1 });

    // The proctor reloads the dashboard: the tile plays again, and the old page left nothing behind.
    await dashboard.reload();
    await tilePlays(dashboard, session.id);
    await expect.poll(sfu, { timeout: 10_000 }).toEqual({ transports: 2, consumers: 1 });
    const after = await tileState(dashboard, session.id);
    expect(after).toMatchObject({ hasStream: true, error: '', placeholder: null });

    // The dashboard goes away: only the candidate's own transport remains.
    await dashboard.close();
    await expect.poll(sfu, { timeout: 10_000 }).toEqual({ transports: 1, consumers: 0 });
    expect(pageErrors).toEqual([]);
    await candidate.close();

    /** The dashboard's media peer on the server: `<socket id>:<exam id>`. */
    function proctorPeerId(): string {
      const [socket] = [...test.app.realtime!.io.of('/proctor').sockets.values()];
      return `${socket!.id}:${session.examId}`;
    }
  }, 180_000);
});
