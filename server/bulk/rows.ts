/**
 * The rows of an import file, read as a stream: CSV (`externalId,name[,photo]` with a header),
 * NDJSON (one `{externalId, name, photo?}` per line) or a JSON list (bounded, parsed whole).
 * Structural faults (no header, broken quoting) fail the file; a bad row fails only itself.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { parse } from 'csv-parse';
import { z } from 'zod';
import { AppError } from '../shared/index.js';

export const importFormats = ['csv', 'ndjson', 'json'] as const;
export type ImportFormat = (typeof importFormats)[number];

/** Enough for any exam; a larger roster is split into several imports. */
export const maxRows = 10_000;
/** A JSON list is parsed whole, so it is kept small; CSV and NDJSON stream. */
export const maxJsonBytes = 16 * 1024 * 1024;
/** A row with a data-URL photo: 10 MB of image as base64, plus its text. */
const maxRecordBytes = 15 * 1024 * 1024;

/** One row as read, before validation: `fields` or the reason it could not be read. */
export type RawRow = { row: number; fields: unknown } | { row: number; error: string; externalId?: string };

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((value) => !/[^\P{Cc}\t\n\r]/u.test(value), 'must not contain control characters');

export const importRow = z.strictObject({
  externalId: text(200),
  name: text(300),
  /** A data URL; in a ZIP upload the photo comes from the file named after the external id. */
  photo: z
    .string()
    .max(maxRecordBytes)
    .optional()
    .transform((value) => (value?.trim() ? value : undefined)),
});
export type ImportRow = z.infer<typeof importRow>;

/** The rows of `file`, one at a time. Throws `invalid_input` for a file that is not of `format`. */
export async function* readRows(file: string, format: ImportFormat): AsyncGenerator<RawRow> {
  switch (format) {
    case 'csv':
      yield* csvRows(file);
      return;
    case 'ndjson':
      yield* ndjsonRows(file);
      return;
    case 'json':
      yield* jsonRows(file);
      return;
  }
}

/** Reads the whole file once (text only, no photos analysed): how many rows, or why it is unusable. */
export async function countRows(file: string, format: ImportFormat): Promise<number> {
  let rows = 0;
  for await (const row of readRows(file, format)) {
    rows = row.row;
    if (rows > maxRows) throw new AppError('invalid_input', `an import holds at most ${maxRows} rows`);
  }
  if (rows === 0) throw new AppError('invalid_input', 'the import has no rows');
  return rows;
}

async function* csvRows(file: string): AsyncGenerator<RawRow> {
  const parser = fs.createReadStream(file).pipe(
    parse({
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      max_record_size: maxRecordBytes,
    }),
  );
  let columns: string[] | undefined;
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!columns) {
        columns = record.map((name) => name.trim());
        const header = columns.join(',');
        if (header !== 'externalId,name' && header !== 'externalId,name,photo') {
          throw new AppError(
            'invalid_input',
            `the CSV header must be "externalId,name" or "externalId,name,photo" (got "${header.slice(0, 100)}")`,
          );
        }
        continue;
      }
      row += 1;
      if (record.length !== columns.length) {
        yield {
          row,
          error: `the row has ${record.length} fields; the header names ${columns.length}`,
          ...(record[0] ? { externalId: record[0].slice(0, 200) } : {}),
        };
        continue;
      }
      yield { row, fields: Object.fromEntries(columns.map((name, i) => [name, record[i]])) };
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    const { message, lines } = error as { message?: string; lines?: number };
    throw new AppError(
      'invalid_input',
      `the CSV cannot be read${lines ? ` (line ${lines})` : ''}: ${(message ?? 'malformed').slice(0, 200)}`,
    );
  } finally {
    parser.destroy();
  }
  if (!columns) throw new AppError('invalid_input', 'the CSV is empty: it needs a header and rows');
}

async function* ndjsonRows(file: string): AsyncGenerator<RawRow> {
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let row = 0;
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      row += 1;
      if (line.length > maxRecordBytes) {
        yield { row, error: 'the line is longer than a row may be' };
        continue;
      }
      try {
        yield { row, fields: JSON.parse(line) as unknown };
      } catch {
        yield { row, error: 'the line is not JSON' };
      }
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

async function* jsonRows(file: string): AsyncGenerator<RawRow> {
  if ((await fs.promises.stat(file)).size > maxJsonBytes) {
    throw new AppError(
      'payload_too_large',
      `a JSON list may be at most ${maxJsonBytes / 1024 / 1024} MB; send CSV or NDJSON for more`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch {
    throw new AppError('invalid_json', 'the candidate list is not valid JSON');
  }
  const list = Array.isArray(parsed)
    ? parsed
    : typeof parsed === 'object' &&
        parsed !== null &&
        Array.isArray((parsed as { candidates?: unknown }).candidates)
      ? (parsed as { candidates: unknown[] }).candidates
      : undefined;
  if (!list) throw new AppError('invalid_input', 'send a JSON list of candidates, or {"candidates": [...]}');
  for (const [index, fields] of list.entries()) yield { row: index + 1, fields };
}
