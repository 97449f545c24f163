/**
 * `vigil bench load [--json] [--steps 1,2,4,…] [--seconds N] [--modes naive,cascade] [--threads N]
 * [--policy '{…}'] [--fresh]`: how many candidates one machine monitors. Synthetic candidates — real
 * VP8 (and Opus) RTP from the test clips into mediasoup, the real sampler, engine, rules and
 * socket.io to a proctor socket, a reference photo each — are added in steps until the
 * service-level objective breaks (by default a ramp: the candidates of earlier steps keep
 * streaming, as in an exam people join; `--fresh` starts every step's candidates anew):
 *   - every candidate analysed at ≥ 0.95 × MONITOR_FPS,
 *   - p95 frame arrival → proctor `analysis:tick` ≤ 1.5 s,
 *   - no missed scripted event: each candidate's clip carries one (the face leaves, two people,
 *     the reference person swapped for another, speech) and its violation must reach the
 *     proctor socket within the rule's own open delay + 6 s of the event's start in the clip
 *     (measured from the moment the candidate's sender starts, so tap start-up counts against it).
 * The naive pipeline (every model on every frame, `policy.analysis.cascade: false`) and the
 * cascade (the default policy, plus `--policy`'s analysis knobs) are measured the same way in the
 * same run, so the ratio holds on a shared, noisy machine. CPU and RSS are of the server's whole process tree (node with its
 * worker threads, the ffmpeg decoders, the mediasoup workers), not of the senders that stand in
 * for browsers, whose CPU is reported apart.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { io as connectSocket } from 'socket.io-client';
import type { FrameAnalysis } from '../analysis/index.js';
import { buildContext, createApp, type VigilApp } from '../app/index.js';
import { createApiClient } from '../auth/index.js';
import type { Decision } from '../monitoring/index.js';
import { defaultTimings, transitionSession } from '../proctoring/index.js';
import { createLogger, packageRoot } from '../shared/index.js';
import { benchApi, benchConfig } from './bench-app.js';
import {
  encodeForRtp,
  freeUdpPort,
  ingestSynthetic,
  rtpPayloadType,
  speechWav,
  startRtpSource,
  type RtpSource,
} from './rtp-source.js';

const run = promisify(execFile);

type Mode = 'naive' | 'cascade';

interface Options {
  json: boolean;
  steps: number[];
  seconds: number;
  modes: Mode[];
  threads: number | undefined;
  /** Extra `policy.analysis` knobs for the cascade exam (e.g. a longer object cadence). */
  policy: Record<string, unknown>;
  /**
   * Every step starts all its candidates afresh (the modes take turns at each step), instead of
   * the ramp: candidates stay on and each step adds the new ones while the others keep streaming.
   */
  fresh: boolean;
}

function parse(argv: string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const list = (text: string) => text.split(',').filter(Boolean);
  return {
    json: argv.includes('--json'),
    steps: list(value('steps') ?? '1,2,4,8,12,16,24,32,40').map(Number),
    seconds: Number(value('seconds') ?? 20),
    modes: list(value('modes') ?? 'naive,cascade') as Mode[],
    threads: value('threads') ? Number(value('threads')) : undefined,
    policy: JSON.parse(value('policy') ?? '{}') as Record<string, unknown>,
    fresh: argv.includes('--fresh'),
  };
}

/** Slack on top of each rule's own open delay: smoothing window, sampling, tap start, latency. */
const eventSlackMs = 6000;
const clipFps = 25;
/** Foreman's face leaves the frame at frame 186 (testdata/video/INDEX.md). */
const faceLeavesAtMs = (186 / clipFps) * 1000;

interface Scenario {
  name: string;
  /** The violation the clip must open, and when its cause starts in the clip. */
  event: 'no_face' | 'multiple_faces' | 'face_mismatch' | 'talking';
  eventAtMs: number;
  video: string;
  audio?: string;
}

/** A candidate streaming in the bench: its session, its clip and its senders. */
interface Running {
  sessionId: string;
  scenario: Scenario;
  peerId: string;
  /** When its senders started: the clip's events are timed from here. */
  startedAt: number;
  sources: RtpSource[];
}

const scripted = ['no_face', 'multiple_faces', 'face_mismatch', 'talking'] as const;

/** Renders the scripted clips (once per run) and encodes them as the senders will send them. */
async function prepareScenarios(testdata: string, work: string): Promise<Scenario[]> {
  const video = (name: string) => path.join(testdata, 'video', name);
  const foreman = video('foreman_cif_299f.mp4');
  const fit = 'scale=352:288:force_original_aspect_ratio=decrease,pad=352:288:(ow-iw)/2:(oh-ih)/2,setsar=1';
  const render = async (name: string, inputs: string[], filter: string) => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const rendered = path.join(dir, 'script.mp4');
    await run(
      'ffmpeg',
      [
        ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
        ...inputs.flatMap((input) => ['-i', input]),
        ...['-filter_complex', `${filter},fps=${clipFps},format=yuv420p[out]`, '-map', '[out]'],
        ...['-c:v', 'libx264', '-crf', '12', '-preset', 'veryfast', rendered],
      ],
      { timeout: 120_000 },
    );
    return encodeForRtp('video', rendered, dir);
  };
  const head = `trim=end_frame=186,setpts=PTS-STARTPTS`;
  // One after another: four encodes at once on a busy 2-core machine outran ffmpeg's time limit.
  const jobs: (() => Promise<string>)[] = [
    // The face, then the empty room for three times as long.
    () =>
      render(
        'face_leaves',
        [foreman],
        `[0:v]split=2[a][b];[a]${head}[a1];[b]trim=start_frame=190,setpts=PTS-STARTPTS,loop=loop=2:size=109:start=0,setpts=N/${clipFps}/TB[b1];[a1][b1]concat=n=2:v=1:a=0`,
      ),
    () =>
      render(
        'two_people',
        [video('cisco_vt_2people_320x192_9f.mp4')],
        `[0:v]loop=loop=40:size=9:start=0,setpts=N/12/TB,${fit}`,
      ),
    // The reference person, then another one in the same chair.
    () =>
      render(
        'face_swap',
        [foreman, video('cisco_men_whisper_640x320_9f.mp4')],
        `[0:v]${head}[a1];[1:v]loop=loop=60:size=9:start=0,setpts=N/${clipFps}/TB,${fit}[b1];[a1][b1]concat=n=2:v=1:a=0`,
      ),
    () => render('face_only', [foreman], `[0:v]${head}`),
  ];
  const rendered: string[] = [];
  for (const job of jobs) rendered.push(await job());
  const [leaves, twoPeople, swap, faceOnly] = rendered as [string, string, string, string];
  const speechDir = path.join(work, 'speech');
  fs.mkdirSync(speechDir, { recursive: true });
  const speech = await encodeForRtp('audio', await speechWav(speechDir), speechDir);
  return [
    { name: 'face_leaves', event: 'no_face', eventAtMs: faceLeavesAtMs, video: leaves },
    { name: 'two_people', event: 'multiple_faces', eventAtMs: 0, video: twoPeople },
    { name: 'face_swap', event: 'face_mismatch', eventAtMs: faceLeavesAtMs, video: swap },
    { name: 'speech', event: 'talking', eventAtMs: 0, video: faceOnly, audio: speech },
  ];
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const median = (values: number[]) => percentile(values, 50);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** CPU ticks (utime + stime) and RSS of processes, read from /proc. */
function procStat(pid: number): { ppid: number; ticks: number; rssKb: number; comm: string } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssKb = (Number(fields[21]) * 4096) / 1024;
    return { ppid, ticks, rssKb, comm };
  } catch {
    return null; // it exited meanwhile
  }
}

interface TreeSample {
  at: number;
  /** ticks per pid, by role */
  ticks: Map<number, { role: string; ticks: number }>;
  rssKb: number;
}

/** This process and its descendants, except the senders (stand-ins for browsers, apart). */
function sampleTree(senders: Set<number>): TreeSample {
  const all = new Map<number, { ppid: number; ticks: number; rssKb: number; comm: string }>();
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (stat) all.set(pid, stat);
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 20; hops++) {
      if (p === process.pid) return true;
      p = all.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const ticks = new Map<number, { role: string; ticks: number }>();
  let rssKb = 0;
  for (const [pid, stat] of all) {
    if (senders.has(pid)) {
      ticks.set(pid, { role: 'senders', ticks: stat.ticks });
      continue;
    }
    if (!inTree(pid)) continue;
    const role =
      pid === process.pid
        ? 'node'
        : stat.comm.startsWith('mediasoup')
          ? 'mediasoup'
          : stat.comm.startsWith('ffmpeg')
            ? 'decoders'
            : 'other';
    ticks.set(pid, { role, ticks: stat.ticks });
    rssKb += stat.rssKb;
  }
  return { at: performance.now(), ticks, rssKb };
}

/** Busy and total jiffies of the whole machine (/proc/stat), to show what others ran meanwhile. */
function machineTicks(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU % of one core per role between two samples (processes alive in both). */
function cpuByRole(from: TreeSample, to: TreeSample): Record<string, number> {
  const hz = 100; // USER_HZ on Linux
  const seconds = (to.at - from.at) / 1000;
  const out: Record<string, number> = {};
  for (const [pid, end] of to.ticks) {
    const start = from.ticks.get(pid)?.ticks ?? end.ticks;
    out[end.role] = (out[end.role] ?? 0) + ((end.ticks - start) / hz / seconds) * 100;
  }
  return out;
}

interface StepResult {
  mode: Mode;
  candidates: number;
  fpsMin: number;
  fpsMedian: number;
  /** The lowest analysed rate among each script's candidates, and among this step's newcomers. */
  fpsMinByScript: Record<string, number>;
  fpsMinJoined: number;
  p95LatencyMs: number;
  ticks: number;
  /** Worst delay of each scripted event type (ms after its start in the clip); null: missed. */
  eventDelayMs: Record<string, number | null>;
  missedEvents: number;
  /** Opened scripted violations in clips that do not script them (false alarms). */
  unexpected: number;
  /** Violations a clip cannot cause, as `script:type`. */
  unexpectedTypes: string[];
  /** Share of each script's frames that were embedded for identity. */
  identityByScript: Record<string, number>;
  cpuPct: number;
  cpuPerCandidatePct: number;
  cpuByRole: Record<string, number>;
  /** CPU % (of one core) the rest of the shared machine used meanwhile. */
  othersCpuPct: number;
  rssMB: number;
  rssPerCandidateMB: number;
  held: boolean;
  /** Mean ms per candidate-second of each stage (engine timings × analysed fps). */
  profile: Record<string, number>;
  /** Share of analysed frames on which each costly model ran. */
  ran: { objects: number; identity: number; antispoof: number; shortRange: number };
}

export async function runLoadBench(argv: string[]): Promise<number> {
  const options = parse(argv);
  const say = (line: string) => !options.json && console.log(line);
  const testdata = process.env.VIGIL_TESTDATA ?? path.join(packageRoot(), '..', 'shared', 'testdata');
  const referencePhoto = path.join(testdata, 'video', 'foreman_frames', 'foreman_000.jpg');
  if (!fs.existsSync(referencePhoto)) {
    console.error(`vigil bench load: no test data at ${testdata} (set VIGIL_TESTDATA)`);
    return 2;
  }
  if (!fs.existsSync('/proc/self/stat')) {
    console.error('vigil bench load: needs Linux /proc to measure CPU and memory');
    return 2;
  }
  const { work, config } = benchConfig('vigil-load-');
  const decisions: Decision[] = [];
  let recording = false;
  let app: VigilApp | undefined;
  let sources: RtpSource[] = [];
  try {
    const context = await buildContext(config, { logger: createLogger('error') });
    app = await createApp(context, {
      analysisThreads: options.threads,
      onDecision: (decision) => recording && decisions.push(decision),
    });
    const url = await app.listen(0, '127.0.0.1');
    const { media, sampler } = app;
    const engine = app.context.analysis;
    if (!media || !sampler || !engine)
      throw new Error('media, sampler and analysis must all run (is ffmpeg installed?)');
    const fps = config.analysis.monitorFps;
    say(
      `backend ${engine.backend}, ${engine.threads} analysis thread(s), ${config.rtc.workers} mediasoup worker(s), ` +
        `MONITOR_FPS ${fps}, ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'cpu'})`,
    );
    say('rendering the scripted clips…');
    const scenarios = await prepareScenarios(testdata, work);

    const { key, tenantId } = await createApiClient(context.db, { name: 'bench', actor: 'bench' });
    const call = benchApi(app, key);
    const exams: Record<Mode, string> = {
      naive: (
        await call<{ id: string }>('POST', '/exams', {
          title: 'load naive',
          durationMinutes: 600,
          policy: { analysis: { cascade: false } },
        })
      ).id,
      cascade: (
        await call<{ id: string }>('POST', '/exams', {
          title: 'load cascade',
          durationMinutes: 600,
          ...(Object.keys(options.policy).length > 0 ? { policy: { analysis: options.policy } } : {}),
        })
      ).id,
    };
    const proctorToken = app.context.tokens.sign(
      { kind: 'proctorToken', tenantId, name: 'bench', examIds: null },
      3600,
    );
    const proctor = connectSocket(`${url}/proctor`, {
      auth: { token: proctorToken },
      transports: ['websocket'],
    });
    await new Promise<void>((resolve, reject) => {
      proctor.once('connect', () => resolve());
      proctor.once('connect_error', reject);
    });
    for (const examId of Object.values(exams)) {
      await proctor.timeout(10_000).emitWithAck('exam:watch', { examId });
    }
    const latencies: { at: number; ms: number }[] = [];
    const opened: { at: number; sessionId: string; type: string }[] = [];
    proctor.on('analysis:tick', (tick: { frameAt: number }) => {
      if (recording) latencies.push({ at: Date.now(), ms: Date.now() - tick.frameAt });
    });
    proctor.on('violation:opened', (violation: { sessionId: string; type: string }) => {
      opened.push({ at: Date.now(), sessionId: violation.sessionId, type: violation.type });
    });

    // Candidates (with their reference) are made once and reused by later steps' sessions.
    const reference = fs.readFileSync(referencePhoto);
    const candidates: Record<Mode, string[]> = { naive: [], cascade: [] };
    const candidateFor = async (mode: Mode, index: number) => {
      while (candidates[mode].length <= index) {
        const n = candidates[mode].length;
        const candidate = await call<{ id: string }>('POST', `/exams/${exams[mode]}/candidates`, {
          externalId: `${mode}-${n}`,
          name: `Candidate ${n}`,
        });
        await call('PUT', `/candidates/${candidate.id}/reference`, reference, 'image/jpeg');
        candidates[mode].push(candidate.id);
      }
      return candidates[mode][index]!;
    };

    let ssrc = 20_000;
    let peerCount = 0;
    // A sender outlives a killed run by at most this long (the ramp keeps senders for every step).
    const senderSeconds = options.fresh
      ? options.seconds + 120
      : options.steps.length * (options.seconds + 40) + 120;
    /** Starts candidates `from`..`to - 1` of a mode: their sessions, peers and senders. */
    const startCandidates = async (mode: Mode, from: number, to: number): Promise<Running[]> => {
      // Everything made before the senders start, so sessions start as close together as possible.
      const planned: Omit<Running, 'startedAt' | 'sources'>[] = [];
      for (let i = from; i < to; i++) {
        const candidateId = await candidateFor(mode, i);
        const session = await call<{ id: string }>('POST', `/exams/${exams[mode]}/sessions`, { candidateId });
        planned.push({
          sessionId: session.id,
          scenario: scenarios[i % scenarios.length]!,
          peerId: `load-${peerCount++}`,
        });
      }
      const running: Running[] = [];
      for (const { sessionId, scenario, peerId } of planned) {
        media.openPeer({ id: peerId, examId: exams[mode], sessionId, role: 'candidate' });
        const tracks: { kind: 'video' | 'audio'; input: string }[] = [
          { kind: 'video', input: scenario.video },
        ];
        if (scenario.audio) tracks.push({ kind: 'audio', input: scenario.audio });
        const mine: RtpSource[] = [];
        for (const track of tracks) {
          const id = ssrc++;
          const port = await ingestSynthetic(media, peerId, track.kind, id);
          const source = startRtpSource({
            input: track.input,
            port,
            localPort: await freeUdpPort(),
            ssrc: id,
            payloadType: rtpPayloadType[track.kind],
            maxSeconds: senderSeconds,
          });
          sources.push(source);
          mine.push(source);
        }
        running.push({ sessionId, scenario, peerId, startedAt: Date.now(), sources: mine });
      }
      return running;
    };
    /** Senders, peers (their taps close) and sessions (the monitor forgets them). */
    const stopCandidates = async (running: Running[]) => {
      await Promise.all(running.flatMap((r) => r.sources.map((source) => source.stop())));
      const stopped = new Set(running.flatMap((r) => r.sources));
      sources = sources.filter((source) => !stopped.has(source));
      for (const { peerId, sessionId } of running) {
        media.closePeer(peerId);
        await transitionSession(
          context.db,
          context.events,
          { tenantId, sessionId, actor: 'bench', reason: 'bench step over' },
          'terminated',
        );
      }
      await delay(3000);
    };

    /**
     * One step: `joined` have just started (their scripted events are checked), `all` are every
     * candidate streaming now (their rates, latencies and false alarms are measured).
     */
    const measureStep = async (mode: Mode, all: Running[], joined: Running[]): Promise<StepResult> => {
      const count = all.length;
      const senderPids = new Set(all.flatMap((r) => r.sources.map((source) => source.pid)));
      // Warm-up (taps start, first keyframes), then the measured window.
      await delay(5000);
      decisions.length = 0;
      latencies.length = 0;
      recording = true;
      const from = Date.now();
      const treeFrom = sampleTree(senderPids);
      const machineFrom = machineTicks();
      const lastEventDue = Math.max(
        ...joined.map(
          (p) =>
            p.startedAt +
            p.scenario.eventAtMs +
            (defaultTimings[p.scenario.event]?.openAfterMs ?? 0) +
            eventSlackMs,
        ),
      );
      await delay(Math.max(options.seconds * 1000, lastEventDue - Date.now() + 500));
      const treeTo = sampleTree(senderPids);
      const machineTo = machineTicks();
      recording = false;
      const to = Date.now();
      const windowS = (to - from) / 1000;

      const perSession = all.map(
        ({ sessionId }) => decisions.filter((d) => d.sessionId === sessionId).length / windowS,
      );
      const eventDelayMs: Record<string, number | null> = {};
      let missed = 0;
      for (const { sessionId, scenario, startedAt } of joined) {
        const eventAt = startedAt + scenario.eventAtMs;
        const bound = (defaultTimings[scenario.event]?.openAfterMs ?? 0) + eventSlackMs;
        const hit = opened.find(
          (o) => o.sessionId === sessionId && o.type === scenario.event && o.at >= eventAt - 500,
        );
        const delayMs = hit ? hit.at - eventAt : null;
        if (delayMs === null || delayMs > bound) missed += 1;
        const worst = eventDelayMs[scenario.event];
        eventDelayMs[scenario.event] =
          worst === null || delayMs === null ? null : Math.max(worst ?? 0, Math.round(delayMs));
      }
      // False alarms of every streaming candidate since the step began (its joiners' start).
      const stepBegan = Math.min(from, ...joined.map((r) => r.startedAt));
      let unexpected = 0;
      const unexpectedTypes: string[] = [];
      for (const { sessionId, scenario } of all) {
        const stray = opened.filter(
          (o) =>
            o.sessionId === sessionId &&
            o.at >= stepBegan &&
            o.at <= to &&
            o.type !== scenario.event &&
            (scripted as readonly string[]).includes(o.type) &&
            // The swap's impostor is a second face for a frame or two at the cut; the empty
            // room after the face left is not a mismatch: only what a clip cannot cause counts.
            !(scenario.name === 'face_swap' && o.type === 'no_face'),
        );
        unexpected += stray.length;
        unexpectedTypes.push(...stray.map((o) => `${scenario.name}:${o.type}`));
      }
      const roles = cpuByRole(treeFrom, treeTo);
      // The machine's busy share over the window, in % of one core, less ours: other tenants.
      const machinePct =
        ((machineTo.busy - machineFrom.busy) / Math.max(1, machineTo.total - machineFrom.total)) *
        os.availableParallelism() *
        100;
      const cpuPct = Object.entries(roles)
        .filter(([role]) => role !== 'senders')
        .reduce((sum, [, pct]) => sum + pct, 0);
      const p95 = percentile(
        latencies.map((l) => l.ms),
        95,
      );
      const fpsMin = Math.min(...perSession);

      // Where a candidate-second goes: each stage's mean ms per analysed frame × analysed fps.
      const frames = decisions.map((d) => d.analysis);
      const meanOf = (pick: (a: FrameAnalysis) => number) =>
        frames.length ? frames.reduce((sum, a) => sum + pick(a), 0) / frames.length : 0;
      const fpsMean = perSession.reduce((a, b) => a + b, 0) / Math.max(1, perSession.length);
      const perSecond = (ms: number) => round(ms * fpsMean, 1);
      const workerMs = meanOf((a) => a.timings.totalMs - a.timings.queueMs);
      const stagesMs =
        meanOf((a) => a.timings.prepareMs) +
        meanOf((a) => a.timings.detectMs) +
        meanOf((a) => a.timings.objectsMs) +
        meanOf((a) => a.timings.embedMs) +
        meanOf((a) => a.timings.qualityMs);
      const profile = {
        prepare: perSecond(meanOf((a) => a.timings.prepareMs)),
        faceDetectMeshIrisAntispoof: perSecond(meanOf((a) => a.timings.detectMs)),
        objects: perSecond(meanOf((a) => a.timings.objectsMs)),
        identity: perSecond(meanOf((a) => a.timings.embedMs)),
        quality: perSecond(meanOf((a) => a.timings.qualityMs)),
        transfer: perSecond(Math.max(0, workerMs - stagesMs)),
        decide: perSecond(
          decisions.length ? decisions.reduce((s, d) => s + d.decideMs, 0) / decisions.length : 0,
        ),
        queue: perSecond(meanOf((a) => a.timings.queueMs)),
        decodeCpu: round((((roles.decoders ?? 0) / 100) * 1000) / count, 1),
        mediasoupCpu: round((((roles.mediasoup ?? 0) / 100) * 1000) / count, 1),
        nodeCpu: round((((roles.node ?? 0) / 100) * 1000) / count, 1),
      };
      const share = (pick: (a: FrameAnalysis) => boolean) =>
        frames.length ? round(frames.filter(pick).length / frames.length, 3) : 0;
      const result: StepResult = {
        mode,
        candidates: count,
        fpsMin: round(fpsMin, 2),
        fpsMedian: round(median(perSession), 2),
        fpsMinByScript: Object.fromEntries(
          [...new Set(all.map((p) => p.scenario.name))].map((name) => [
            name,
            round(Math.min(...perSession.filter((_, i) => all[i]?.scenario.name === name)), 2),
          ]),
        ),
        fpsMinJoined: round(Math.min(...perSession.filter((_, i) => joined.includes(all[i]!))), 2),
        p95LatencyMs: Math.round(p95),
        ticks: latencies.length,
        eventDelayMs,
        missedEvents: missed,
        unexpected,
        unexpectedTypes: [...new Set(unexpectedTypes)],
        identityByScript: Object.fromEntries(
          [...new Set(all.map((p) => p.scenario.name))].map((name) => {
            const ids = new Set(all.filter((p) => p.scenario.name === name).map((p) => p.sessionId));
            const mine = decisions.filter((d) => ids.has(d.sessionId));
            const embedded = mine.filter((d) => d.analysis.stages.identity).length;
            return [name, round(embedded / Math.max(1, mine.length), 2)];
          }),
        ),
        cpuPct: round(cpuPct),
        cpuPerCandidatePct: round(cpuPct / count, 2),
        cpuByRole: Object.fromEntries(Object.entries(roles).map(([role, pct]) => [role, round(pct)])),
        othersCpuPct: round(Math.max(0, machinePct - cpuPct - (roles.senders ?? 0))),
        rssMB: round(treeTo.rssKb / 1024),
        rssPerCandidateMB: 0,
        held: fpsMin >= 0.95 * fps && p95 <= 1500 && missed === 0,
        profile,
        ran: {
          objects: share((a) => a.stages.objects),
          identity: share((a) => a.stages.identity),
          antispoof: share((a) => a.stages.antispoof),
          shortRange: share((a) => a.stages.shortRange),
        },
      };

      return result;
    };

    // The idle server's footprint, so RSS per candidate counts what candidates add.
    await delay(1000);
    const idle = sampleTree(new Set());
    const idleRssMB = idle.rssKb / 1024;
    say(`idle server: RSS ${round(idleRssMB)} MB`);
    say(
      'mode     cand  fps min/med  p95 ms  events (worst delay s: no_face multiple_faces face_mismatch talking)  missed  false  CPU %  CPU %/cand  RSS MB/cand  others CPU %',
    );
    const steps: StepResult[] = [];
    const report = (step: StepResult) => {
      step.rssPerCandidateMB = round(Math.max(0, step.rssMB - idleRssMB) / step.candidates, 1);
      steps.push(step);
      const delays = scripted
        .map((type) => {
          const value = step.eventDelayMs[type];
          return value === undefined
            ? '  -  '
            : value === null
              ? 'MISS '
              : (value / 1000).toFixed(1).padStart(5);
        })
        .join(' ');
      say(
        `${step.mode.padEnd(8)} ${String(step.candidates).padStart(4)}  ${step.fpsMin.toFixed(2)}/${step.fpsMedian.toFixed(2)}   ${String(step.p95LatencyMs).padStart(6)}  ${delays.padEnd(74)}  ${String(step.missedEvents).padStart(6)}  ${String(step.unexpected).padStart(5)}  ${step.cpuPct.toFixed(0).padStart(5)}  ${step.cpuPerCandidatePct.toFixed(1).padStart(10)}  ${step.rssPerCandidateMB.toFixed(1).padStart(11)}  ${step.othersCpuPct.toFixed(0).padStart(12)}${step.held ? '' : '  ✗ objective broken'}`,
      );
      return step.held;
    };
    if (options.fresh) {
      // Modes take turns at each step, so both meet the same neighbours on a shared machine.
      const broken = new Set<Mode>();
      for (const count of options.steps) {
        for (const mode of options.modes) {
          if (broken.has(mode)) continue;
          const all = await startCandidates(mode, 0, count);
          const held = report(await measureStep(mode, all, all));
          await stopCandidates(all);
          if (!held) broken.add(mode);
        }
        if (options.modes.every((mode) => broken.has(mode))) break;
      }
    } else {
      // The ramp: one mode at a time, its candidates staying on while each step adds more.
      for (const mode of options.modes) {
        const all: Running[] = [];
        try {
          for (const count of options.steps) {
            if (count <= all.length) continue;
            const joined = await startCandidates(mode, all.length, count);
            all.push(...joined);
            if (!report(await measureStep(mode, all, joined))) break;
          }
        } finally {
          await stopCandidates(all);
        }
      }
    }
    const largest = (mode: Mode) =>
      Math.max(0, ...steps.filter((s) => s.mode === mode && s.held).map((s) => s.candidates));
    const best = steps.find((s) => s.mode === 'cascade' && s.candidates === largest('cascade'));
    for (const mode of options.modes) {
      const held = steps.filter((s) => s.mode === mode && s.held);
      const at = held[held.length - 1] ?? steps.find((s) => s.mode === mode);
      if (!at) continue;
      say(
        `\n${mode}: where one candidate-second goes at ${at.candidates} candidate(s) (ms per second of stream):`,
      );
      for (const [stage, ms] of Object.entries(at.profile)) say(`  ${stage.padEnd(28)} ${ms}`);
      say(
        `  models run on: objects ${(at.ran.objects * 100).toFixed(0)} %, identity ${(at.ran.identity * 100).toFixed(0)} % (by script ${JSON.stringify(at.identityByScript)}), antispoof ${(at.ran.antispoof * 100).toFixed(0)} % of frames, faces from the short-range detector alone on ${(at.ran.shortRange * 100).toFixed(0)} %; CPU by role ${JSON.stringify(at.cpuByRole)}${at.unexpectedTypes.length ? `; unexpected ${at.unexpectedTypes.join(', ')}` : ''}`,
      );
    }
    const naiveCandidates = largest('naive');
    const candidatesHeld = largest('cascade');
    const summary = {
      backend: engine.backend,
      candidates: candidatesHeld,
      naiveCandidates,
      ratio: naiveCandidates > 0 ? round(candidatesHeld / naiveCandidates, 2) : null,
      p95LatencyMs: best?.p95LatencyMs ?? null,
      missedEvents: best?.missedEvents ?? null,
      cpuPerCandidatePct: best?.cpuPerCandidatePct ?? null,
      rssPerCandidateMB: best?.rssPerCandidateMB ?? null,
    };
    proctor.close();
    if (options.json) console.log(JSON.stringify({ threads: engine.threads, steps }));
    console.log(JSON.stringify(summary));
    return 0;
  } finally {
    await Promise.all(sources.map((source) => source.stop()));
    await app?.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
