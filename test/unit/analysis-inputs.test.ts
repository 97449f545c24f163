import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AnalysisEngine,
  decodeImage,
  ModelIntegrityError,
  readManifest,
  verifyModels,
} from '../../server/analysis/index.js';
import { testdataHelp } from '../../server/doctor/testdata-location.js';
import { createLogger } from '../../server/shared/index.js';
import { testdataDir } from '../support/testdata.js';

const testdata = testdataDir;
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-analysis-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

function requireTestdata(file: string): string {
  const full = path.join(testdata, file);
  if (!fs.existsSync(full)) {
    throw new Error(`test data missing: ${full}. To get it: ${testdataHelp}`);
  }
  return full;
}

function writeManifest(change: (manifest: ReturnType<typeof readManifest>) => void): string {
  const manifest = readManifest();
  change(manifest);
  const file = path.join(temp, `manifest-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(manifest));
  return file;
}

describe('models/manifest.json', () => {
  it('lists every model the engine loads, and the installed files match it', () => {
    const manifest = readManifest();
    expect(manifest.models.map((model) => model.id)).toEqual(
      expect.arrayContaining([
        'human/blazeface',
        'human/facemesh',
        'human/iris',
        'human/antispoof',
        'human/liveness',
        'human/centernet',
        'face-api/ssd_mobilenetv1',
        'face-api/face_landmark_68',
        'face-api/face_recognition',
        'vad/silero_vad_v5',
      ]),
    );
    const files = verifyModels(manifest);
    expect(files.size).toBe(manifest.models.reduce((sum, model) => sum + model.files.length, 0));
  });

  it('names the file, its checksum and the fix when a model does not match', () => {
    const file = writeManifest((manifest) => {
      const blazeface = manifest.models.find((model) => model.id === 'human/blazeface');
      if (blazeface?.files[1]) blazeface.files[1].sha256 = '0'.repeat(64);
    });
    expect(() => verifyModels(readManifest(file))).toThrow(ModelIntegrityError);
    expect(() => verifyModels(readManifest(file))).toThrow(
      /human\/blazeface: .*blazeface\.bin has sha256 [0-9a-f]{64}, the manifest expects 0{64}/,
    );
    expect(() => verifyModels(readManifest(file))).toThrow(/update-manifest/);
  });

  it("checks the project's own copies of a package's files (models/vendor) the same way", () => {
    const file = writeManifest((manifest) => {
      const model = manifest.models.find((entry) => entry.vendored !== undefined);
      if (model?.files[1]) model.files[1].sha256 = '0'.repeat(64);
    });
    expect(() => verifyModels(readManifest(file))).toThrow(
      /human-models\/blazeface-front: .*models\/vendor\/@vladmandic\/human-models\/models\/blazeface-front\.bin has sha256/,
    );
  });

  it('refuses another package version than the one pinned', () => {
    const file = writeManifest((manifest) => {
      const model = manifest.models.find((entry) => entry.id === 'face-api/face_recognition');
      if (model) model.version = '0.0.1';
    });
    expect(() => verifyModels(readManifest(file))).toThrow(
      /pins @vladmandic\/face-api@0\.0\.1, 1\.\d+\.\d+ is installed/,
    );
  });

  it('fails clearly on a missing or malformed manifest', () => {
    expect(() => readManifest(path.join(temp, 'nope.json'))).toThrow(/cannot read the model manifest/);
    const bad = path.join(temp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ models: [{ id: 'x' }] }));
    expect(() => readManifest(bad)).toThrow(/malformed/);
  });

  it('keeps the engine from starting on a tampered model', async () => {
    const file = writeManifest((manifest) => {
      const vad = manifest.models.find((model) => model.id === 'vad/silero_vad_v5');
      if (vad?.files[0]) vad.files[0].bytes += 1;
    });
    await expect(
      AnalysisEngine.create({
        backend: 'wasm',
        threads: 1,
        logger: createLogger('silent'),
        manifestPath: file,
      }),
    ).rejects.toThrow(/vad\/silero_vad_v5/);
  });
});

describe('decodeImage', () => {
  it('applies EXIF orientation (the SFAS JPEGs are stored sideways)', async () => {
    const bytes = fs.readFileSync(requireTestdata('spoof/sfas_image_F1_print.jpg'));
    expect((await sharp(bytes).metadata()).orientation).toBe(6);
    const image = await decodeImage(bytes);
    expect([image.width, image.height]).toEqual([480, 640]);
    expect(image.data.length).toBe(480 * 640 * 3);
  });

  it('decodes PNG (also grey and with alpha) to RGB and scales large photos down', async () => {
    const grey = await sharp({
      create: { width: 64, height: 32, channels: 4, background: { r: 9, g: 9, b: 9, alpha: 0.5 } },
    })
      .greyscale()
      .png()
      .toBuffer();
    const image = await decodeImage(grey);
    expect([image.width, image.height, image.data.length]).toEqual([64, 32, 64 * 32 * 3]);
    const large = await sharp({ create: { width: 4000, height: 1000, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    const scaled = await decodeImage(large);
    expect([scaled.width, scaled.height]).toEqual([1920, 480]);
  });

  it('answers 415 for what is not a JPEG or PNG and 413 for too many pixels', async () => {
    await expect(decodeImage(Buffer.from('not an image'))).rejects.toMatchObject({
      code: 'unsupported_media_type',
      status: 415,
    });
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .gif()
      .toBuffer();
    await expect(decodeImage(gif)).rejects.toMatchObject({ code: 'unsupported_media_type' });
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
    await expect(decodeImage(jpeg.subarray(0, 40))).rejects.toMatchObject({ code: 'unsupported_media_type' });
    const big = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    await expect(decodeImage(big, { maxPixels: 10_000 })).rejects.toMatchObject({
      code: 'payload_too_large',
      status: 413,
    });
  });
});
