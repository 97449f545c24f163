/**
 * `vigil bench dashboard [--json] [--steps 12,24,48,100] [--seconds N]`: how many live tiles
 * one proctor dashboard tab holds. Synthetic cameras (one real clip, VP8 over RTP, fanned out
 * with an SSRC each) feed N sessions of one exam; headless Chromium opens the dashboard and,
 * per step, is measured twice:
 *   all on screen   the viewport is as tall as the grid, so every tile decodes and paints
 *   one screen      a 1920x1080 viewport: tiles out of view pause their consumers
 * Figures: tiles playing (video frames advancing ≥ 5 fps), their median decoded fps, the page's
 * frame rate (requestAnimationFrame), Chromium's CPU (its whole process tree; 100 % = one
 * core) and the server's (node + mediasoup workers), each over the same window.
 * Needs the dev dependency playwright-core and a Chromium (CHROMIUM_PATH, default
 * /usr/bin/chromium). Headless Chromium decodes in software; a proctor's browser usually has
 * a GPU, so these are upper bounds on cost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildContext, createApp, type VigilApp } from '../app/index.js';
import { createApiClient } from '../auth/index.js';
import type { Browser } from 'playwright-core';
import { createLogger, packageRoot } from '../shared/index.js';
import { benchApi, benchConfig } from './bench-app.js';
import { RtpFanout } from './rtp-fanout.js';
import { encodeForRtp, ingestSynthetic, rtpPayloadType } from './rtp-source.js';

interface Options {
  json: boolean;
  steps: number[];
  seconds: number;
}

function parse(argv: string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const steps = (value('steps') ?? '12,24,48,100')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0 && n <= 200)
    .sort((a, b) => a - b);
  return { json: argv.includes('--json'), steps, seconds: Number(value('seconds') ?? 10) };
}

interface Measurement {
  tilesPlaying: number;
  medianTileFps: number;
  pageFps: number;
  chromiumCpuPct: number;
  serverCpuPct: number;
}

/** What the measuring code uses of the page (this program has no DOM types). */
interface PageScope {
  document: {
    querySelectorAll(
      selector: string,
    ): ArrayLike<{ getVideoPlaybackQuality(): { totalVideoFrames: number } }>;
    documentElement: { scrollHeight: number };
  };
  benchFrames?: number;
}

interface Step {
  tiles: number;
  allOnScreen: Measurement;
  oneScreen: Measurement;
}

/** CPU seconds (user + system) of processes, from /proc (Linux). */
function cpuSeconds(pids: number[]): number {
  const ticks = 100; // USER_HZ: 100 on every Linux this runs on
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticks;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** This process's descendants as [pid, command name]. */
function descendants(root: number): [number, string][] {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(pid, ppid);
      names.set(pid, name);
    } catch {
      continue;
    }
  }
  const found: [number, string][] = [];
  for (const [pid] of parents) {
    for (let up = parents.get(pid); up !== undefined && up > 1; up = parents.get(up)) {
      if (up === root) {
        found.push([pid, names.get(pid) ?? '']);
        break;
      }
    }
  }
  return found;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!;
};

export async function runDashboardBench(argv: string[]): Promise<number> {
  const options = parse(argv);
  const say = (line: string) => !options.json && console.log(line);
  const testdata = process.env.VIGIL_TESTDATA ?? path.join(packageRoot(), '..', 'shared', 'testdata');
  const clipSource = path.join(testdata, 'video', 'foreman_cif_299f.mp4');
  if (!fs.existsSync(clipSource)) {
    console.error(`vigil bench dashboard: no test clip at ${clipSource} (set VIGIL_TESTDATA)`);
    return 2;
  }
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    console.error(`vigil bench dashboard: no Chromium at ${executablePath} (set CHROMIUM_PATH)`);
    return 2;
  }
  let playwright: { chromium: { launch(options: object): Promise<Browser> } };
  try {
    playwright = await import('playwright-core');
  } catch {
    console.error('vigil bench dashboard: needs the dev dependency playwright-core (npm install)');
    return 2;
  }
  if (options.steps.length === 0) {
    console.error('vigil bench dashboard: --steps takes tile counts such as 12,24,48,100');
    return 2;
  }

  const { work, config } = benchConfig('vigil-bench-', { MEDIA_WORKERS: '1' });
  let app: VigilApp | undefined;
  let fanout: RtpFanout | undefined;
  let browser: Browser | undefined;
  try {
    const context = await buildContext(config, { logger: createLogger('error') });
    app = await createApp(context, { analysis: false });
    const url = await app.listen(0, '127.0.0.1');
    const media = app.media;
    if (!media) throw new Error('media did not start');
    const { key, tenantId } = await createApiClient(context.db, { name: 'bench', actor: 'bench' });
    const api = benchApi(app, key);
    const call = <T>(route: string, payload: object) => api<T>('POST', route, payload);
    const exam = await call<{ id: string }>('/exams', { title: 'dashboard bench', durationMinutes: 60 });
    const token = app.context.tokens.sign(
      { kind: 'proctorToken', tenantId, name: 'bench', examIds: null },
      3600,
    );
    const clip = await encodeForRtp('video', clipSource, work, 30);
    const seconds = options.steps.length * (options.seconds * 2 + 30) + 120;
    fanout = await RtpFanout.start(clip, rtpPayloadType.video, seconds);

    let sessions = 0;
    const addSession = async () => {
      const index = sessions++;
      const candidate = await call<{ id: string }>(`/exams/${exam.id}/candidates`, {
        externalId: `c${index}`,
        name: `Candidate ${String(index).padStart(3, '0')}`,
      });
      const session = await call<{ id: string }>(`/exams/${exam.id}/sessions`, { candidateId: candidate.id });
      const peerId = `bench-${index}`;
      media.openPeer({ id: peerId, examId: exam.id, sessionId: session.id, role: 'candidate' });
      const ssrc = 20_000 + index;
      const port = await ingestSynthetic(media, peerId, 'video', ssrc);
      fanout!.add(port, ssrc);
    };

    browser = await playwright.chromium.launch({
      executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
    const chromiumPids = () =>
      descendants(process.pid)
        .filter(([, name]) => name.startsWith('chrom'))
        .map(([pid]) => pid);
    const serverPids = () => [
      process.pid,
      ...descendants(process.pid)
        .filter(([, name]) => name.startsWith('mediasoup'))
        .map(([pid]) => pid),
    ];

    const steps: Step[] = [];
    say(
      `dashboard bench: ${executablePath}, ${os.cpus().length} cores, window ${options.seconds} s per mode`,
    );
    say('tiles | mode           | playing | tile fps (median) | page fps | Chromium CPU % | server CPU %');
    for (const tiles of options.steps) {
      while (sessions < tiles) await addSession();
      const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
      await page.goto(`${url}/proctor?token=${encodeURIComponent(token)}&exam=${exam.id}`);
      await page.waitForSelector('#tile-page-size', { state: 'attached' });
      const pageSize = [12, 24, 48, 100].find((size) => size >= tiles) ?? 100;
      await page.selectOption('#tile-page-size', String(pageSize));
      await page.waitForFunction(
        (n) =>
          (globalThis as unknown as PageScope).document.querySelectorAll('[data-testid=tile]').length >= n,
        tiles,
        {
          timeout: 60_000,
        },
      );
      const measure = async (): Promise<Measurement> => {
        // Let consumers resume and keyframes arrive before the window opens.
        await page.waitForTimeout(4_000);
        const sample = () =>
          page.evaluate(() => {
            const scope = globalThis as unknown as PageScope;
            const videos = Array.from(scope.document.querySelectorAll('[data-testid=tile] video'));
            return {
              at: performance.now(),
              rafFrames: scope.benchFrames ?? 0,
              videoFrames: videos.map((video) => video.getVideoPlaybackQuality().totalVideoFrames),
            };
          });
        // A frame counter in the page; a string, so no bundler helper leaks into the page.
        await page.evaluate(`if (globalThis.benchFrames === undefined) {
          globalThis.benchFrames = 0;
          const count = () => { globalThis.benchFrames += 1; requestAnimationFrame(count); };
          requestAnimationFrame(count);
        }`);
        await page.waitForTimeout(1_000);
        const before = await sample();
        const cpuBefore = { chromium: cpuSeconds(chromiumPids()), server: cpuSeconds(serverPids()) };
        const wallBefore = performance.now();
        await page.waitForTimeout(options.seconds * 1000);
        const after = await sample();
        const wall = (performance.now() - wallBefore) / 1000;
        const cpuAfter = { chromium: cpuSeconds(chromiumPids()), server: cpuSeconds(serverPids()) };
        const span = (after.at - before.at) / 1000;
        const tileFps = after.videoFrames.map((frames, i) => (frames - (before.videoFrames[i] ?? 0)) / span);
        const playing = tileFps.filter((fps) => fps >= 5);
        return {
          tilesPlaying: playing.length,
          medianTileFps: Math.round(median(playing) * 10) / 10,
          pageFps: Math.round(((after.rafFrames - before.rafFrames) / span) * 10) / 10,
          chromiumCpuPct: Math.round(((cpuAfter.chromium - cpuBefore.chromium) / wall) * 100),
          serverCpuPct: Math.round(((cpuAfter.server - cpuBefore.server) / wall) * 100),
        };
      };
      // All on screen: as tall as the grid, so every tile is in view and decodes.
      const gridHeight = await page.evaluate(
        () => (globalThis as unknown as PageScope).document.documentElement.scrollHeight,
      );
      await page.setViewportSize({ width: 1920, height: Math.min(16_000, Math.max(1080, gridHeight)) });
      const allOnScreen = await measure();
      await page.setViewportSize({ width: 1920, height: 1080 });
      const oneScreen = await measure();
      await page.close();
      steps.push({ tiles, allOnScreen, oneScreen });
      for (const [mode, m] of [
        ['all on screen ', allOnScreen],
        ['one 1080p screen', oneScreen],
      ] as const) {
        say(
          `${String(tiles).padStart(5)} | ${mode.padEnd(14)} | ${String(m.tilesPlaying).padStart(7)} | ${String(m.medianTileFps).padStart(17)} | ${String(m.pageFps).padStart(8)} | ${String(m.chromiumCpuPct).padStart(14)} | ${m.serverCpuPct}`,
        );
      }
    }
    // Held: every tile of the step played on screen at ≥ 15 fps with the page at ≥ 20 fps.
    const held = steps.filter(
      (step) =>
        step.allOnScreen.tilesPlaying === step.tiles &&
        step.allOnScreen.medianTileFps >= 15 &&
        step.allOnScreen.pageFps >= 20,
    );
    const summary = { maxTilesHeld: held.at(-1)?.tiles ?? 0, cores: os.cpus().length, steps };
    if (options.json) console.log(JSON.stringify(summary));
    else say(`largest step held (all tiles playing ≥ 15 fps, page ≥ 20 fps): ${summary.maxTilesHeld}`);
    return 0;
  } finally {
    await browser?.close().catch(() => undefined);
    await fanout?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
