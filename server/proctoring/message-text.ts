import { z } from 'zod';

/** Longest chat message or note, in UTF-16 code units after trimming. */
export const maxMessageLength = 2000;

/** C0 and C1 controls and DEL, except tab and newline (a message may have lines). */
// eslint-disable-next-line no-control-regex
const forbiddenControls = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

/** Half of a surrogate pair without its other half: not Unicode, and PostgreSQL refuses it. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A chat message or note: trimmed, 1..2000 characters, no control characters but newline and
 * tab, well-formed Unicode. Stored literally; pages render it as text, never as HTML.
 */
export const messageText = z
  .string()
  .trim()
  .min(1, 'text must not be empty')
  .max(maxMessageLength, `text must be at most ${maxMessageLength} characters`)
  .refine((text) => !forbiddenControls.test(text), 'text must not contain control characters')
  .refine((text) => !loneSurrogate.test(text), 'text must be well-formed Unicode');

/** The words of a raised hand sent without any. */
export const defaultHelpText = 'I need help';
