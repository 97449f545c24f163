/**
 * The JSON shapes of chat messages and proctor notes. Free of database and zod imports so the
 * browser pages can import them as types.
 */

export interface MessageView {
  id: string;
  sessionId: string;
  from: 'candidate' | 'proctor';
  /** `help`: the candidate raised a hand. */
  kind: 'message' | 'help';
  text: string;
  at: string;
}

export interface NoteView {
  id: string;
  sessionId: string;
  /** The audit actor who wrote it (`user:…`, `proctor:…`, `apikey:…`). */
  author: string;
  text: string;
  at: string;
}
