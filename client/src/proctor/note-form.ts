/** Saving a proctor's private note from a text box: the dashboard's panel and the review share it. */
import type { NoteLike } from '../shared/chat.js';
import { setText } from '../shared/dom.js';
import { errorText } from '../shared/socket.js';
import type { Auth } from './auth.js';

/**
 * Posts what `input` holds as a note on the session; an empty box or a refusal is said in
 * `error`. Resolves to the stored note, or undefined when nothing was saved.
 */
export async function submitNote(
  auth: Auth,
  sessionId: string,
  input: HTMLTextAreaElement,
  error: HTMLElement,
): Promise<NoteLike | undefined> {
  const text = input.value;
  if (text.trim() === '') {
    setText(error, 'Write the note first.');
    input.focus();
    return undefined;
  }
  setText(error, '');
  try {
    return await auth.json<NoteLike>('POST', `/api/v1/sessions/${sessionId}/notes`, { text });
  } catch (err) {
    setText(error, `Not saved: ${errorText(err)}`);
    return undefined;
  }
}
