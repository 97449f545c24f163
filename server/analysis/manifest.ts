import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../shared/index.js';

const require = createRequire(import.meta.url);

const manifestSchema = z.object({
  models: z
    .array(
      z.object({
        id: z.string().min(1),
        role: z.string(),
        package: z.string().min(1),
        version: z.string().min(1),
        /**
         * A folder of this project (from its root) holding copies of the package's files, for a
         * package whose npm install would bring far more than the files Vigil loads.
         */
        vendored: z.string().min(1).optional(),
        files: z
          .array(
            z.object({
              path: z.string().min(1),
              bytes: z.number().int().positive(),
              sha256: z.string().regex(/^[0-9a-f]{64}$/),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});

export type ModelManifest = z.infer<typeof manifestSchema>;

/** Raised when a model file is missing, altered or from another package version. */
export class ModelIntegrityError extends Error {
  override name = 'ModelIntegrityError';
}

export function defaultManifestPath(): string {
  return path.join(packageRoot(), 'models', 'manifest.json');
}

export function readManifest(file = defaultManifestPath()): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ModelIntegrityError(`cannot read the model manifest ${file}: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ModelIntegrityError(`the model manifest ${file} is malformed: ${parsed.error.message}`);
  }
  return parsed.data;
}

/**
 * Where an npm package is installed. Not `require.resolve(name + '/package.json')`: Human's
 * `exports` map does not list `./package.json`, so that throws.
 */
export function packageDir(name: string): string {
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = path.join(base, name);
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new ModelIntegrityError(`the npm package ${name} is not installed (run npm install)`);
}

function installedVersion(dir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** URL path (`<package>/<file>`) → verified bytes. */
export type VerifiedFiles = Map<string, Uint8Array>;

/**
 * Reads every file the manifest lists from its npm package (or the project's copy of it) and
 * checks its size and SHA-256.
 * The bytes returned are the ones checked, so what is loaded is exactly what was verified.
 */
export function verifyModels(manifest: ModelManifest, only?: (id: string) => boolean): VerifiedFiles {
  const files: VerifiedFiles = new Map();
  const problems: string[] = [];
  for (const model of manifest.models) {
    if (only && !only(model.id)) continue;
    const dir = model.vendored ? path.join(packageRoot(), model.vendored) : packageDir(model.package);
    const version = model.vendored ? model.version : installedVersion(dir);
    if (version !== model.version) {
      problems.push(
        `${model.id}: the manifest pins ${model.package}@${model.version}, ${version} is installed`,
      );
      continue;
    }
    for (const file of model.files) {
      const full = path.join(dir, file.path);
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(full);
      } catch {
        problems.push(`${model.id}: ${full} is missing`);
        continue;
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (bytes.length !== file.bytes || sha256 !== file.sha256) {
        problems.push(`${model.id}: ${full} has sha256 ${sha256}, the manifest expects ${file.sha256}`);
        continue;
      }
      files.set(
        `${model.package}/${file.path}`,
        new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
      );
    }
  }
  if (problems.length > 0) {
    throw new ModelIntegrityError(
      `model files do not match models/manifest.json:\n  ${problems.join('\n  ')}\n` +
        'Reinstall the packages (npm ci) or, after a deliberate upgrade, regenerate the manifest ' +
        '(node models/update-manifest.mjs) and review the diff.',
    );
  }
  return files;
}
