/**
 * `vigil bench accuracy [--json] [--quick] [--threads N] [--backend B] [--testdata DIR]
 * [--min-face-score S]` (each also accepted as a plain `name=value` word): runs the analysis
 * detectors on ../shared/testdata (labels from its INDEX.md files, restated below) and prints
 * precision / recall per detector, identity true-match rates at 1% false-match rate for the strong
 * (reference) and fast (per-frame) paths, and timings.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  AnalysisEngine,
  analysisBackends,
  cascadeTuning,
  createObserverState,
  defaultCascade,
  decodeImage,
  ffmpegAvailable,
  observeFrame,
  readVideoFrames,
  similarity,
  steerIdentity,
  type AnalysisPolicy,
  type BackendChoice,
  type FrameAnalysis,
  type RgbFrame,
} from '../analysis/index.js';
import { createLogger, packageRoot } from '../shared/index.js';
import { flag, option } from './args.js';

/** Visual face counts from testdata/human/INDEX.md (group-1: "about 18-20", counted as 18). */
// prettier-ignore
const humanFaces: Record<string, number> = {
  'ai-face': 1, 'ai-upper': 1, 'ai-body': 1, background: 0, 'person-vlado': 1, 'person-vlado1': 1,
  'person-vlado5': 1, 'person-lexi': 1, 'stock-emotions-a-1': 1, 'stock-emotions-a-2': 1,
  'stock-emotions-a-7': 1, 'stock-emotions-b-1': 1, 'stock-emotions-b-4': 1, 'stock-emotions-b-7': 1,
  'stock-emotions-b-8': 1, 'stock-teen-3': 1, 'stock-teen-4': 1, 'stock-teen-8': 1, 'stock-models-12': 2,
  'stock-models-13': 2, 'group-3': 4, 'group-1': 18, solvay1927: 29, 'cgi-multiangle-10': 2,
};

/** Identity groups of testdata/human/INDEX.md; LEXI and TEEN-8 are single photos (negatives only). */
const humanIdentities: Record<string, string[]> = {
  'CGI-1': ['ai-face', 'ai-upper', 'ai-body'],
  VLADO: ['person-vlado', 'person-vlado1', 'person-vlado5'],
  'EMO-A': ['stock-emotions-a-1', 'stock-emotions-a-2', 'stock-emotions-a-7'],
  'EMO-B': ['stock-emotions-b-1', 'stock-emotions-b-4', 'stock-emotions-b-7', 'stock-emotions-b-8'],
  'TEEN-A': ['stock-teen-3', 'stock-teen-4'],
  LEXI: ['person-lexi'],
  'TEEN-8': ['stock-teen-8'],
};

/**
 * Looking away, from the INDEX's pose column: a near-profile and averted eyes are; frontal
 * faces and head turns of 20-25° (inside the default 35° yaw limit) are not.
 */
// prettier-ignore
const lookingAwayLabels: Record<string, boolean> = {
  'stock-teen-3': true, 'stock-emotions-a-7': true, 'ai-face': false, 'person-vlado': false,
  'person-lexi': false, 'stock-emotions-a-1': false, 'stock-teen-4': false, 'stock-teen-8': false,
  'stock-emotions-b-8': false, 'ai-upper': false, 'stock-emotions-a-2': false, 'stock-emotions-b-7': false,
};

/** testdata/spoof/INDEX.md: F = presentation attack, T = real. */
const spoofLabels: Record<string, boolean> = {
  sfas_image_F1_print: true,
  sfas_image_F2_screen: true,
  sfas_image_T1_real: false,
  sfas_image_T2_real: false,
};

/** testdata/video/INDEX.md: faces per frame (Foreman: the face leaves the frame from 186). */
const clips: { file: string; faces: (frame: number) => number }[] = [
  { file: 'foreman_cif_299f.mp4', faces: (frame) => (frame < 186 ? 1 : 0) },
  { file: 'cisco_vt_2people_320x192_9f.mp4', faces: () => 2 },
  { file: 'cisco_men_whisper_640x320_9f.mp4', faces: () => 1 },
  { file: 'zhling_720p_19f.mp4', faces: () => 1 },
];

const policy: AnalysisPolicy = {
  identity: { matchThreshold: 0.5 },
  gaze: { maxYawDegrees: 35, maxPitchDegrees: 25 },
};

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

const newCounts = (): Counts => ({ tp: 0, fp: 0, fn: 0, tn: 0 });

function count(counts: Counts, predicted: boolean, actual: boolean): void {
  if (predicted && actual) counts.tp += 1;
  else if (predicted) counts.fp += 1;
  else if (actual) counts.fn += 1;
  else counts.tn += 1;
}

function summary(name: string, counts: Counts, note = '') {
  const precision = counts.tp + counts.fp ? counts.tp / (counts.tp + counts.fp) : null;
  const recall = counts.tp + counts.fn ? counts.tp / (counts.tp + counts.fn) : null;
  return { detector: name, ...counts, precision, recall, note };
}

interface IdentityItem {
  name: string;
  identity: string;
  strong: number[] | null;
  fast: number[] | null;
}

/** True-match rate at the threshold that lets at most 1% of the different-person pairs match. */
function tprAtFpr(positives: number[], negatives: number[], fpr = 0.01) {
  const sorted = [...negatives].sort((a, b) => b - a);
  const allowed = Math.floor(sorted.length * fpr);
  const threshold = sorted[allowed] ?? 0;
  const tpr = positives.filter((score) => score > threshold).length / Math.max(1, positives.length);
  const atDefault = {
    tpr:
      positives.filter((score) => score >= policy.identity.matchThreshold).length /
      Math.max(1, positives.length),
    fpr:
      negatives.filter((score) => score >= policy.identity.matchThreshold).length /
      Math.max(1, negatives.length),
  };
  return { tpr, threshold, positives: positives.length, negatives: negatives.length, atDefault };
}

function pairScores(items: IdentityItem[], a: 'strong' | 'fast', b: 'strong' | 'fast') {
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = 0; j < items.length; j++) {
      // Same-path comparisons are symmetric: each unordered pair once. Fast-vs-strong is not.
      if (a === b ? j <= i : j === i) continue;
      const x = items[i];
      const y = items[j];
      if (!x || !y) continue;
      const ex = x[a];
      const ey = y[b];
      // A photo the path could not embed fails every comparison (counts against it).
      const score = ex && ey ? similarity(ex, ey) : 0;
      (x.identity === y.identity ? positives : negatives).push(score);
    }
  }
  return tprAtFpr(positives, negatives);
}

const fmt = (value: number | null, digits = 2) => (value === null ? '–' : value.toFixed(digits));
const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

type Mode = 'naive' | 'cascade';

interface ModeFigures {
  mode: Mode;
  frames: number;
  noFace: Counts;
  multiple: Counts;
  /** Foreman with its own reference: frames judged `face_mismatch` (false alarms) of frames judged. */
  genuine: { mismatched: number; judged: number };
  /** Frames from the start of an impostor clip until `face_mismatch` holds (null: never). */
  impostorFrames: Record<string, number | null>;
  /** Seconds (frames at 1 fps) from the swap to `face_mismatch` holding. */
  swapSeconds: number | null;
  /** Share of frames each costly model ran on, and the worker's ms per frame. */
  ran: { objects: number; identity: number; antispoof: number; shortRange: number };
  workMsPerFrame: number;
}

/**
 * The video part in both pipelines: each clip as one stream through the engine with the
 * observer the server uses (naive: every model on every frame, as `policy.analysis.cascade:
 * false`; cascade: the default cadences, the identity steering and stretched windows).
 */
async function videoInMode(
  engine: AnalysisEngine,
  mode: Mode,
  file: (...parts: string[]) => string,
  reference: number[],
  quick: boolean,
): Promise<ModeFigures> {
  const figures: ModeFigures = {
    mode,
    frames: 0,
    noFace: newCounts(),
    multiple: newCounts(),
    genuine: { mismatched: 0, judged: 0 },
    impostorFrames: {},
    swapSeconds: null,
    ran: { objects: 0, identity: 0, antispoof: 0, shortRange: 0 },
    workMsPerFrame: 0,
  };
  let workMs = 0;
  const tuning = mode === 'cascade' ? cascadeTuning(defaultCascade) : {};
  const stream = (name: string) => {
    const state = createObserverState({ reference, tuning });
    let boost = 0;
    return async (frame: RgbFrame) => {
      const result = await engine.analyseFrame(`${mode}:${name}`, frame, {
        objects: true,
        identity: true,
        ...(mode === 'cascade' ? { cascade: defaultCascade, forceIdentity: boost > 0 } : {}),
      });
      if (result.dropped) throw new Error('a video frame was dropped');
      const observed = observeFrame(state, result, policy);
      if (mode === 'cascade') {
        boost = steerIdentity(boost, result, observed.identity, {
          threshold: policy.identity.matchThreshold,
          burstFrames: defaultCascade.identityBurstFrames,
        });
      }
      figures.frames += 1;
      workMs += result.timings.totalMs - result.timings.queueMs;
      if (result.stages.objects) figures.ran.objects += 1;
      if (result.stages.identity) figures.ran.identity += 1;
      if (result.stages.antispoof) figures.ran.antispoof += 1;
      if (result.stages.shortRange) figures.ran.shortRange += 1;
      const find = (type: string) => observed.observations.find((o) => o.type === type);
      return {
        result,
        active: (type: string) => find(type)?.active ?? false,
        judged: (type: string) => !!find(type),
      };
    };
  };
  for (const clip of clips) {
    const next = stream(clip.file);
    for await (const frame of readVideoFrames(file('video', clip.file))) {
      if (quick && frame.index % 3 !== 0) continue;
      const { active, judged } = await next({ ...frame, at: frame.index * 1000 });
      const expected = clip.faces(frame.index);
      count(figures.noFace, active('no_face'), expected === 0);
      count(figures.multiple, active('multiple_faces'), expected >= 2);
      if (clip.file.startsWith('foreman') && expected === 1 && judged('face_mismatch')) {
        figures.genuine.judged += 1;
        if (active('face_mismatch')) figures.genuine.mismatched += 1;
      }
    }
  }
  const frames = async (name: string) => {
    const list: RgbFrame[] = [];
    for await (const frame of readVideoFrames(file('video', name))) list.push({ ...frame, at: 0 });
    return list;
  };
  const impostors = ['cisco_men_whisper_640x320_9f.mp4', 'zhling_720p_19f.mp4'];
  for (const name of impostors) {
    const next = stream(`impostor:${name}`);
    const list = await frames(name);
    figures.impostorFrames[name] = null;
    for (const [index, frame] of list.entries()) {
      const { active } = await next({ ...frame, at: index * 1000 });
      if (active('face_mismatch')) {
        figures.impostorFrames[name] = index + 1;
        break;
      }
    }
  }
  // The swap: Foreman (the reference person) for 7 s at 1 fps, then another man for up to 20 s.
  const foreman = (await frames('foreman_cif_299f.mp4')).filter(
    (_, index) => index % 25 === 0 && index < 186,
  );
  const other = await frames('cisco_men_whisper_640x320_9f.mp4');
  const next = stream('swap');
  let second = 0;
  for (const frame of foreman) await next({ ...frame, at: second++ * 1000 });
  const swapAt = second;
  for (let i = 0; i < 20; i++) {
    const { active } = await next({ ...other[i % other.length]!, at: second++ * 1000 });
    if (active('face_mismatch')) {
      figures.swapSeconds = second - swapAt;
      break;
    }
  }
  const share = (value: number) => Math.round((value / Math.max(1, figures.frames)) * 1000) / 1000;
  figures.ran = {
    objects: share(figures.ran.objects),
    identity: share(figures.ran.identity),
    antispoof: share(figures.ran.antispoof),
    shortRange: share(figures.ran.shortRange),
  };
  figures.workMsPerFrame = Math.round((workMs / Math.max(1, figures.frames)) * 10) / 10;
  return figures;
}

export async function runAccuracy(argv: string[]): Promise<number> {
  const json = flag(argv, 'json');
  const quick = flag(argv, 'quick');
  const testdata = path.resolve(
    option(argv, 'testdata') ??
      process.env.VIGIL_TESTDATA ??
      path.join(packageRoot(), '..', 'shared', 'testdata'),
  );
  if (!fs.existsSync(path.join(testdata, 'human', 'INDEX.md'))) {
    console.error(`vigil bench accuracy: no test data at ${testdata} (give testdata=DIR or VIGIL_TESTDATA)`);
    return 2;
  }
  const backendArg = option(argv, 'backend') ?? process.env.ANALYSIS_BACKEND ?? 'auto';
  if (backendArg !== 'auto' && !(analysisBackends as readonly string[]).includes(backendArg)) {
    console.error(`vigil bench accuracy: backend must be auto or one of ${analysisBackends.join(', ')}`);
    return 2;
  }
  const threadsArg = option(argv, 'threads');
  const minFaceScore = option(argv, 'min-face-score');
  const logger = createLogger(json ? 'silent' : 'warn');
  const engine = await AnalysisEngine.create({
    backend: backendArg as BackendChoice,
    threads: threadsArg ? Number(threadsArg) : undefined,
    minFaceScore: minFaceScore ? Number(minFaceScore) : undefined,
    logger,
  });
  const log = (line: string) => {
    if (!json) console.log(line);
  };
  log(`analysis backend ${engine.backend}, ${engine.threads} worker thread(s), test data ${testdata}`);
  try {
    const file = (...parts: string[]) => path.join(testdata, ...parts);
    const analyse = async (bytes: Buffer, objects = false) => {
      const image = await decodeImage(bytes);
      const result = await engine.analyseFrame('stills', { ...image, at: 0 }, { objects, identity: true });
      if (result.dropped) throw new Error('a still was dropped');
      return result;
    };

    // Faces per still image.
    const noFace = newCounts();
    const multiple = newCounts();
    let exact = 0;
    let exactTotal = 0;
    const frameMs: number[] = [];
    const objectFrameMs: number[] = [];
    const stills: { name: string; faces: number; detected: number }[] = [];
    const still = async (name: string, expected: number, bytes: Buffer) => {
      const result = await analyse(bytes, true);
      objectFrameMs.push(result.timings.totalMs);
      const detected = result.faces.length;
      count(noFace, detected === 0, expected === 0);
      count(multiple, detected >= 2, expected >= 2);
      if (expected <= 4) {
        exactTotal += 1;
        if (detected === expected) exact += 1;
      }
      stills.push({ name, faces: expected, detected });
      return result;
    };
    const humanResults = new Map<string, FrameAnalysis>();
    for (const [name, faces] of Object.entries(humanFaces)) {
      humanResults.set(name, await still(name, faces, fs.readFileSync(file('human', `${name}.jpg`))));
    }
    const pairFiles = fs
      .readdirSync(file('pairs'))
      .filter((name) => name.endsWith('.jpg'))
      .sort();
    for (const name of pairFiles) {
      await still(`pairs/${name}`, name.startsWith('group_') ? 2 : 1, fs.readFileSync(file('pairs', name)));
    }
    const spoofResults = new Map<string, FrameAnalysis>();
    for (const name of [...Object.keys(spoofLabels), 'deepface_face_anti_spoofing_illustration']) {
      const expected = name.startsWith('deepface') ? 2 : 1;
      spoofResults.set(
        name,
        await still(`spoof/${name}`, expected, fs.readFileSync(file('spoof', `${name}.jpg`))),
      );
    }

    // Faces per video frame, raw and after the observers' smoothing.
    const videoNoFace = newCounts();
    const videoMultiple = newCounts();
    const observedNoFace = newCounts();
    const observedMultiple = newCounts();
    let videoFrames = 0;
    const videoNote = ffmpegAvailable() ? '' : 'ffmpeg missing: video skipped';
    if (!videoNote) {
      for (const clip of clips) {
        const state = createObserverState();
        for await (const frame of readVideoFrames(file('video', clip.file))) {
          if (quick && frame.index % 3 !== 0) continue;
          const result = await engine.analyseFrame(
            `video:${clip.file}`,
            { ...frame, at: frame.index * 1000 },
            { objects: false },
          );
          if (result.dropped) continue;
          frameMs.push(result.timings.totalMs);
          videoFrames += 1;
          const expected = clip.faces(frame.index);
          count(videoNoFace, result.faces.length === 0, expected === 0);
          count(videoMultiple, result.faces.length >= 2, expected >= 2);
          // Frames one second apart, as at MONITOR_FPS=1.
          const observed = observeFrame(state, result, policy).observations;
          const active = (type: string) => observed.find((o) => o.type === type)?.active ?? false;
          count(observedNoFace, active('no_face'), expected === 0);
          count(observedMultiple, active('multiple_faces'), expected >= 2);
        }
      }
    }

    // Looking away on the labelled stills (one frame each, default policy).
    const away = newCounts();
    const awayRows: {
      name: string;
      label: boolean;
      yaw: number | null;
      gazeYaw: number | null;
      predicted: boolean;
    }[] = [];
    for (const [name, label] of Object.entries(lookingAwayLabels)) {
      const result = humanResults.get(name);
      if (!result) continue;
      const observed = observeFrame(createObserverState(), result, policy).observations;
      const predicted = observed.find((o) => o.type === 'looking_away')?.active ?? false;
      count(away, predicted, label);
      const face = result.faces[0];
      awayRows.push({ name, label, yaw: face?.yaw ?? null, gazeYaw: face?.gaze?.yaw ?? null, predicted });
    }

    // Anti-spoofing scores (the observer needs several frames: feed the still three times).
    const spoof = newCounts();
    const spoofRows: {
      name: string;
      spoof: boolean;
      real: number | null;
      live: number | null;
      predicted: boolean;
    }[] = [];
    for (const [name, label] of Object.entries(spoofLabels)) {
      const result = spoofResults.get(name);
      if (!result) continue;
      const state = createObserverState();
      let predicted = false;
      for (let i = 0; i < 3; i++) {
        const observed = observeFrame(state, { ...result, at: i * 1000 }, policy).observations;
        predicted = observed.find((o) => o.type === 'spoof_suspected')?.active ?? false;
      }
      count(spoof, predicted, label);
      const face = result.faces[0];
      spoofRows.push({ name, spoof: label, real: face?.real ?? null, live: face?.live ?? null, predicted });
    }

    // Phones: what the object model saw on the stills (the test data has no labelled phone).
    const phoneSightings = [...humanResults, ...spoofResults].flatMap(([name, result]) =>
      (result.objects ?? []).filter((o) => o.label === 'cell phone').map((o) => `${name} ${o.score}`),
    );

    // Identity.
    const items: IdentityItem[] = [];
    const strongMs: number[] = [];
    const fastMs: number[] = [];
    for (const name of pairFiles.filter((name) => !name.startsWith('group_'))) {
      items.push({
        name: `pairs/${name}`,
        identity: name.replace(/_(\d+|partial_face)\.jpg$/, ''),
        strong: null,
        fast: null,
      });
    }
    for (const [identity, names] of Object.entries(humanIdentities)) {
      for (const name of names) items.push({ name: `human/${name}.jpg`, identity, strong: null, fast: null });
    }
    for (const item of items) {
      const bytes = fs.readFileSync(file(item.name));
      const reference = await engine.embedReference(bytes);
      strongMs.push(reference.timings.detectMs + reference.timings.embedMs);
      item.strong = reference.embedding;
      const frame = await analyse(bytes);
      fastMs.push(frame.timings.detectMs + frame.timings.embedMs);
      item.fast = frame.faces[0]?.embedding ?? null;
    }
    const identity = {
      images: items.length,
      identities: new Set(items.map((item) => item.identity)).size,
      strong: {
        ...pairScores(items, 'strong', 'strong'),
        msPerImage: mean(strongMs),
        unembedded: items.filter((i) => !i.strong).map((i) => i.name),
      },
      fast: {
        ...pairScores(items, 'fast', 'fast'),
        msPerImage: mean(fastMs),
        unembedded: items.filter((i) => !i.fast).map((i) => i.name),
      },
      fastVsStrongReference: pairScores(items, 'fast', 'strong'),
    };

    // The video part in both pipelines, side by side.
    const foremanReference = await engine.embedReference(
      fs.readFileSync(file('video', 'foreman_frames', 'foreman_000.jpg')),
    );
    if (!foremanReference.embedding) throw new Error('no reference embedding for foreman_000.jpg');
    const modes: ModeFigures[] = [];
    if (!videoNote) {
      for (const mode of ['naive', 'cascade'] as const) {
        modes.push(await videoInMode(engine, mode, file, foremanReference.embedding, quick));
      }
    }

    // Latency on one 640x480 webcam-like frame, per kind of work, then throughput with 4 streams.
    const sample = await decodeImage(fs.readFileSync(file('human', 'person-vlado.jpg')), { maxSide: 640 });
    const latency = async (options: { objects: boolean; identity: boolean }) => {
      const times: number[] = [];
      for (let i = 0; i < 6; i++) {
        const result = await engine.analyseFrame('latency', { ...sample, at: i }, options);
        if (!result.dropped && i > 0) times.push(result.timings.totalMs);
      }
      return mean(times);
    };
    const latencies = {
      faces: await latency({ objects: false, identity: false }),
      facesIdentity: await latency({ objects: false, identity: true }),
      facesIdentityObjects: await latency({ objects: true, identity: true }),
    };
    const reference = await engine.embedReference(fs.readFileSync(file('pairs', 'obama_1.jpg')));
    const throughput = async (objects: boolean) => {
      const started = performance.now();
      const done = await Promise.all(
        Array.from({ length: 4 }, async (_, stream) => {
          let analysed = 0;
          for (let i = 0; i < 5; i++) {
            const result = await engine.analyseFrame(`burst:${stream}`, { ...sample, at: i }, { objects });
            if (!result.dropped) analysed += 1;
          }
          return analysed;
        }),
      );
      return done.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000);
    };
    const framesPerSecond = { withoutObjects: await throughput(false), withObjects: await throughput(true) };

    const detectors = [
      summary('no_face (stills)', noFace),
      summary('multiple_faces (stills)', multiple),
      summary('no_face (video frames)', videoNoFace, videoNote),
      summary('multiple_faces (video frames)', videoMultiple, videoNote),
      summary('no_face (video, observeFrame)', observedNoFace, videoNote),
      summary('multiple_faces (video, observeFrame)', observedMultiple, videoNote),
      summary('looking_away (labelled stills)', away),
      summary('spoof_suspected (spoof/)', spoof, 'low weight by design'),
    ];
    const report = {
      backend: engine.backend,
      threads: engine.threads,
      testdata,
      detectors,
      faceCountExact: { correct: exact, of: exactTotal, note: 'stills with at most 4 faces' },
      stills,
      videoFrames,
      lookingAway: awayRows,
      spoof: spoofRows,
      phone: { labelled: 0, sightings: phoneSightings, note: 'no labelled phone in the test data' },
      identity,
      modes,
      timings: {
        frame640x480Ms: latencies,
        referenceMs: reference.timings.totalMs,
        videoFrameMs: mean(frameMs),
        stillWithObjectsMs: mean(objectFrameMs),
        framesPerSecond4Streams: framesPerSecond,
      },
      stats: engine.stats(),
    };

    if (json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    log('\nDetectors (precision / recall; positives are "condition present")');
    log('detector                                   tp   fp   fn    tn  precision  recall  note');
    for (const row of detectors) {
      log(
        `${row.detector.padEnd(40)} ${String(row.tp).padStart(4)} ${String(row.fp).padStart(4)} ${String(row.fn).padStart(4)} ${String(row.tn).padStart(5)}` +
          `  ${fmt(row.precision).padStart(9)}  ${fmt(row.recall).padStart(6)}  ${row.note}`,
      );
    }
    log(`face count exact on stills with <= 4 faces: ${exact}/${exactTotal}`);
    const crowds = stills.filter((s) => s.faces > 4).map((s) => `${s.name} ${s.detected}/${s.faces}`);
    log(`crowds (detected/visible, maxFaces caps it): ${crowds.join(', ')}`);
    log('\nLooking away (yaw, eye yaw in degrees; limits: head 35°, head + eyes 25°)');
    for (const row of awayRows) {
      log(
        `  ${row.name.padEnd(22)} label ${String(row.label).padEnd(5)} yaw ${fmt(row.yaw, 1).padStart(6)} eyes ${fmt(row.gazeYaw, 1).padStart(6)} → ${row.predicted}`,
      );
    }
    log('\nAnti-spoofing (Human antispoof "real" and liveness "live"; spoof suspected below real 0.30)');
    for (const row of spoofRows) {
      log(
        `  ${row.name.padEnd(22)} ${row.spoof ? 'attack' : 'real  '} real ${fmt(row.real)} live ${fmt(row.live)} → ${row.predicted}`,
      );
    }
    log(
      `\nPhone: no labelled phone in the test data; "cell phone" sightings on stills: ${phoneSightings.join(', ') || 'none'}`,
    );
    log(
      `\nIdentity: ${identity.images} photos of ${identity.identities} people (pairs/ + human/ identity groups), all pairs`,
    );
    log('path                                 TPR@FPR1%  threshold  pos   neg  TPR/FPR at 0.5   ms/image');
    const idRow = (name: string, r: ReturnType<typeof tprAtFpr>, ms: number | null) =>
      log(
        `${name.padEnd(36)} ${fmt(r.tpr).padStart(9)}  ${fmt(r.threshold, 3).padStart(9)} ${String(r.positives).padStart(4)} ${String(r.negatives).padStart(5)}` +
          `  ${fmt(r.atDefault.tpr)} / ${fmt(r.atDefault.fpr, 3)}   ${ms === null ? '' : ms.toFixed(0).padStart(8)}`,
      );
    idRow('strong (face-api SSD+68+recognition)', identity.strong, identity.strong.msPerImage);
    idRow('fast (Human mesh crop+recognition)', identity.fast, identity.fast.msPerImage);
    idRow('fast frame vs strong reference', identity.fastVsStrongReference, null);
    if (identity.strong.unembedded.length)
      log(`  strong path found no single face in: ${identity.strong.unembedded.join(', ')}`);
    if (identity.fast.unembedded.length)
      log(`  fast path found no face in: ${identity.fast.unembedded.join(', ')}`);
    if (modes.length) {
      log('\nVideo through both pipelines (naive: every model on every frame; cascade: default cadences)');
      log(
        `figure                                          ${modes.map((m) => m.mode.padStart(9)).join(' ')}`,
      );
      const row = (name: string, pick: (m: ModeFigures) => string) =>
        log(`${name.padEnd(48)}${modes.map((m) => pick(m).padStart(9)).join(' ')}`);
      const pr = (c: Counts) => {
        const r = summary('', c);
        return `${fmt(r.precision)}/${fmt(r.recall)}`;
      };
      row('no_face P/R (observeFrame)', (m) => pr(m.noFace));
      row('multiple_faces P/R (observeFrame)', (m) => pr(m.multiple));
      row('face_mismatch on genuine Foreman frames', (m) => `${m.genuine.mismatched}/${m.genuine.judged}`);
      for (const name of Object.keys(modes[0]?.impostorFrames ?? {})) {
        row(`impostor ${name.replace('.mp4', '')}: frames to mismatch`, (m) =>
          String(m.impostorFrames[name] ?? 'never'),
        );
      }
      row('swap Foreman → other man: s to mismatch (1 fps)', (m) => String(m.swapSeconds ?? 'never'));
      row('object model on share of frames', (m) => fmt(m.ran.objects));
      row('identity embedding on share of frames', (m) => fmt(m.ran.identity));
      row('anti-spoofing on share of frames', (m) => fmt(m.ran.antispoof));
      row('faces from the short-range detector alone on share of frames', (m) => fmt(m.ran.shortRange));
      row('worker ms per frame', (m) => m.workMsPerFrame.toFixed(1));
    }
    log(`\nTimings (${engine.backend}, ${engine.threads} worker thread(s); shared machine, expect ±30%)`);
    log(`  640x480 frame, faces (detector, mesh, iris, anti-spoofing):   ${latencies.faces.toFixed(0)} ms`);
    log(
      `  + identity (fast path embedding):                            ${latencies.facesIdentity.toFixed(0)} ms`,
    );
    log(
      `  + object model (phones; by default every 2nd frame):         ${latencies.facesIdentityObjects.toFixed(0)} ms`,
    );
    log(
      `  reference photo (decode + face-api strong path + Human):      ${reference.timings.totalMs.toFixed(0)} ms`,
    );
    log(`  video frames above (352x288 to 1280x720, faces + identity):   ${mean(frameMs).toFixed(0)} ms`);
    log(
      `  4 concurrent streams: ${framesPerSecond.withoutObjects.toFixed(1)} frames/s without objects,` +
        ` ${framesPerSecond.withObjects.toFixed(1)} with`,
    );
    return 0;
  } finally {
    await engine.close();
  }
}
