/**
 * Reference photos of an import as a ZIP whose file names are the external ids (`ada.jpg`).
 * The ZIP is read from the spooled file through its central directory, one photo at a time.
 */
import path from 'node:path';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { AppError } from '../shared/index.js';
import { imageBodyLimit } from './reference-photo.js';

const maxEntries = 20_000;
const photoExtensions = new Set(['.jpg', '.jpeg', '.png']);

export class PhotoArchive {
  readonly #zip: ZipFile;
  readonly #entries: Map<string, Entry>;

  private constructor(zip: ZipFile, entries: Map<string, Entry>) {
    this.#zip = zip;
    this.#entries = entries;
  }

  /** Opens and indexes the ZIP; a file that is not one, or holds other files, is `invalid_input`. */
  static async open(file: string): Promise<PhotoArchive> {
    const zip = await new Promise<ZipFile>((resolve, reject) =>
      yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: false }, (error, opened) =>
        error || !opened
          ? reject(
              new AppError('invalid_input', `photos is not a readable ZIP file: ${error?.message ?? ''}`),
            )
          : resolve(opened),
      ),
    );
    try {
      if (zip.entryCount > maxEntries) {
        throw new AppError('invalid_input', `the photo ZIP holds more than ${maxEntries} files`);
      }
      return new PhotoArchive(zip, await indexEntries(zip));
    } catch (error) {
      zip.close();
      throw error;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  has(externalId: string): boolean {
    return this.#entries.has(externalId);
  }

  /** The photo of `externalId`, or undefined when the ZIP has none. */
  async photo(externalId: string): Promise<Buffer | undefined> {
    const entry = this.#entries.get(externalId);
    if (!entry) return undefined;
    if (entry.uncompressedSize > imageBodyLimit) {
      throw new AppError('payload_too_large', `${entry.fileName}: images may be at most 10 MB`);
    }
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      this.#zip.openReadStream(entry, (error, opened) =>
        error || !opened
          ? reject(
              new AppError(
                'invalid_input',
                `${entry.fileName} cannot be read from the ZIP: ${error?.message}`,
              ),
            )
          : resolve(opened),
      ),
    );
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (error) {
      throw new AppError(
        'invalid_input',
        `${entry.fileName} cannot be read from the ZIP: ${error instanceof Error ? error.message : ''}`,
      );
    }
    return Buffer.concat(chunks);
  }

  close(): void {
    this.#zip.close();
  }
}

function indexEntries(zip: ZipFile): Promise<Map<string, Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, Entry>();
    zip.on('error', (error: Error) =>
      reject(new AppError('invalid_input', `photos is not a readable ZIP file: ${error.message}`)),
    );
    zip.on('end', () => resolve(entries));
    zip.on('entry', (entry: Entry) => {
      const name = entry.fileName;
      const base = path.posix.basename(name);
      // Folders, and the metadata macOS and Windows add, are not photos.
      if (
        name.endsWith('/') ||
        base.startsWith('.') ||
        name.startsWith('__MACOSX/') ||
        base === 'Thumbs.db'
      ) {
        zip.readEntry();
        return;
      }
      const extension = path.posix.extname(base).toLowerCase();
      if (!photoExtensions.has(extension)) {
        reject(
          new AppError(
            'invalid_input',
            `${name.slice(0, 200)} in the photo ZIP is not a .jpg, .jpeg or .png file`,
          ),
        );
        return;
      }
      const externalId = base.slice(0, -extension.length);
      if (entries.has(externalId)) {
        reject(new AppError('invalid_input', `the photo ZIP has two photos for ${externalId.slice(0, 200)}`));
        return;
      }
      entries.set(externalId, entry);
      zip.readEntry();
    });
    zip.readEntry();
  });
}
