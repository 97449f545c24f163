/**
 * `vigil bench fairness [--json] [--quick] [--threads N] [--backend B] [--testdata DIR]`: face
 * presence and identity over the test faces under synthetic exposure and contrast changes, the
 * mechanism behind skin-tone bias in face detectors (under-exposure, low contrast).
 *
 * Transforms (documented, applied to the decoded sRGB pixels):
 * - exposure ±N EV: to linear light (sRGB curve), times 2^N, clipped at white, back to sRGB;
 * - reduced contrast c: each channel pulled towards mid-grey, v' = 128 + (v − 128) · c.
 *
 * Per step it prints detection recall (single-face stills in which at least one face is found)
 * and identity TPR / FMR at the policy's default match threshold (0.5): each identity's first
 * photo, unchanged, is the reference (the strong path, as a registered reference photo); its
 * other photos, transformed, are the probes (the per-frame fast path, as the stream sees them).
 * The test data carries no demographic labels, so no per-group figure is given or implied.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  AnalysisEngine,
  analysisBackends,
  decodeImage,
  similarity,
  type BackendChoice,
} from '../analysis/index.js';
import { defaultPolicy } from '../proctoring/index.js';
import { createLogger, packageRoot } from '../shared/index.js';
import { flag, option } from './args.js';

interface Step {
  name: string;
  apply(data: Uint8Array): Uint8Array;
}

const toLinear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const toSrgb = (l: number) => {
  const c = l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055;
  return Math.round(Math.min(1, Math.max(0, c)) * 255);
};

function exposure(ev: number): Step {
  const gain = 2 ** ev;
  const table = Uint8Array.from({ length: 256 }, (_, v) => toSrgb(toLinear(v) * gain));
  return { name: `${ev > 0 ? '+' : ''}${ev} EV`, apply: (data) => data.map((v) => table[v]!) };
}

function contrast(factor: number): Step {
  const table = Uint8Array.from({ length: 256 }, (_, v) => Math.round(128 + (v - 128) * factor));
  return { name: `contrast ×${factor}`, apply: (data) => data.map((v) => table[v]!) };
}

// The range (−2..+2 EV, reduced contrast), and one step beyond each end to find where it breaks.
const steps: Step[] = [
  exposure(-3),
  exposure(-2),
  exposure(-1),
  exposure(0),
  exposure(1),
  exposure(2),
  exposure(3),
  contrast(0.5),
  contrast(0.25),
  contrast(0.1),
];

interface StepFigures {
  step: string;
  detected: number;
  stills: number;
  recall: number;
  genuine: number;
  trueMatches: number;
  tpr: number;
  impostor: number;
  falseMatches: number;
  fmr: number;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 1000) / 1000);

export async function runFairnessBench(argv: string[]): Promise<number> {
  const json = flag(argv, 'json');
  const quick = flag(argv, 'quick');
  const testdata = path.resolve(
    option(argv, 'testdata') ??
      process.env.VIGIL_TESTDATA ??
      path.join(packageRoot(), '..', 'shared', 'testdata'),
  );
  const pairsDir = path.join(testdata, 'pairs');
  if (!fs.existsSync(pairsDir)) {
    console.error(`vigil bench fairness: no test data at ${testdata} (give testdata=DIR or VIGIL_TESTDATA)`);
    return 2;
  }
  const backend = option(argv, 'backend') ?? process.env.ANALYSIS_BACKEND ?? 'auto';
  if (backend !== 'auto' && !(analysisBackends as readonly string[]).includes(backend)) {
    console.error(`vigil bench fairness: backend must be auto or one of ${analysisBackends.join(', ')}`);
    return 2;
  }
  const threads = option(argv, 'threads');
  const engine = await AnalysisEngine.create({
    backend: backend as BackendChoice,
    threads: threads ? Number(threads) : undefined,
    logger: createLogger(json ? 'silent' : 'warn'),
  });
  const log = (line: string) => {
    if (!json) console.log(line);
  };
  try {
    const threshold = defaultPolicy().identity.matchThreshold;
    // Identities: the file name without its _N suffix; single photos and groups are left out.
    const byIdentity = new Map<string, string[]>();
    for (const name of fs
      .readdirSync(pairsDir)
      .filter((n) => /_\d+\.jpg$/.test(n))
      .sort()) {
      const identity = name.replace(/_\d+\.jpg$/, '');
      byIdentity.set(identity, [...(byIdentity.get(identity) ?? []), name]);
    }
    let identities = [...byIdentity].filter(([, names]) => names.length >= 2);
    if (quick) identities = identities.slice(0, 4);
    log(
      `analysis backend ${engine.backend}, ${engine.threads} thread(s); ${identities.length} identities of testdata/pairs; ` +
        `match threshold ${threshold}`,
    );

    const references = new Map<string, number[]>();
    for (const [identity, names] of identities) {
      const reference = await engine.embedReference(fs.readFileSync(path.join(pairsDir, names[0]!)));
      if (reference.embedding) references.set(identity, reference.embedding);
    }

    const figures: StepFigures[] = [];
    for (const step of steps) {
      let detected = 0;
      let stills = 0;
      let genuine = 0;
      let trueMatches = 0;
      let impostor = 0;
      let falseMatches = 0;
      for (const [identity, names] of identities) {
        for (const [index, name] of names.entries()) {
          const image = await decodeImage(fs.readFileSync(path.join(pairsDir, name)), { maxSide: 640 });
          const frame = { ...image, data: step.apply(image.data), at: 0 };
          const result = await engine.analyseFrame(`fairness:${step.name}:${name}`, frame, {
            identity: true,
          });
          if (result.dropped) throw new Error('a still was dropped');
          stills += 1;
          if (result.faces.length > 0) detected += 1;
          engine.releaseStream(`fairness:${step.name}:${name}`);
          if (index === 0) continue; // the reference photo itself is no probe
          const embedding = result.faces[0]?.embedding ?? null;
          for (const [other, reference] of references) {
            const match = embedding !== null && similarity(embedding, reference) >= threshold;
            if (other === identity) {
              genuine += 1;
              if (match) trueMatches += 1;
            } else {
              impostor += 1;
              if (match) falseMatches += 1;
            }
          }
        }
      }
      const row = {
        step: step.name,
        detected,
        stills,
        recall: ratio(detected, stills),
        genuine,
        trueMatches,
        tpr: ratio(trueMatches, genuine),
        impostor,
        falseMatches,
        fmr: ratio(falseMatches, impostor),
      };
      figures.push(row);
      log(
        `${row.step.padEnd(14)} detection recall ${row.recall.toFixed(3)} (${detected}/${stills})  ` +
          `identity TPR ${row.tpr.toFixed(3)} (${trueMatches}/${genuine})  FMR ${row.fmr.toFixed(3)} (${falseMatches}/${impostor})`,
      );
    }
    if (json)
      console.log(
        JSON.stringify({ backend: engine.backend, threshold, identities: identities.length, figures }),
      );
    log('No demographic labels exist in this test data: the table says nothing per group.');
    return 0;
  } finally {
    await engine.close();
  }
}
