import { AppError } from './errors.js';

/** Deeper than any request Vigil takes; deeper input is refused rather than walked. */
const maxDepth = 32;

/**
 * Why a value cannot be stored as text or JSON, or null when it can. PostgreSQL refuses NUL in
 * text and `\u0000` in jsonb, and a lone UTF-16 surrogate is not Unicode at all; both legs must
 * answer the same, so such input is refused at the edge, keys included.
 */
export function unsafeTextIn(value: unknown, where = 'payload'): string | null {
  const stack: { value: unknown; where: string; depth: number }[] = [{ value, where, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string') {
      const reason = unsafeString(item.value);
      if (reason) return `${item.where}: ${reason}`;
    } else if (item.value !== null && typeof item.value === 'object') {
      if (Buffer.isBuffer(item.value) || ArrayBuffer.isView(item.value)) continue;
      if (item.depth >= maxDepth) return `${item.where}: nested too deeply`;
      for (const [key, child] of Object.entries(item.value)) {
        const reason = unsafeString(key);
        if (reason) return `${item.where}: a key ${reason}`;
        stack.push({ value: child, where: `${item.where}.${key.slice(0, 50)}`, depth: item.depth + 1 });
      }
    }
  }
  return null;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function unsafeString(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (loneSurrogate.test(text)) return 'contains a lone UTF-16 surrogate';
  return null;
}

/** Throws 400 `invalid_input` when `value` holds text that cannot be stored. */
export function assertSafeText(value: unknown, where = 'payload'): void {
  const reason = unsafeTextIn(value, where);
  if (reason) throw new AppError('invalid_input', `invalid ${reason}`);
}
