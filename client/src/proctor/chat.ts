/**
 * The dashboard's messages panel: every session's conversation in one log (raised hands stand
 * out and are announced), a box to write to one candidate, and private notes on that candidate
 * (REST, never shown to them). Sessions come and go with the dashboard's tiles.
 */
import { MessageList, messageItem, noteItem, type NoteLike } from '../shared/chat.js';
import { byId, el, setText } from '../shared/dom.js';
import type { MessageView } from '../shared/protocol.js';
import { errorText, request, type ProctorSocket } from '../shared/socket.js';
import type { Auth } from './auth.js';
import { submitNote } from './note-form.js';

/** History loads at a time: a 100-tile exam opens without a burst of requests. */
const BACKFILL_CONCURRENCY = 4;

export interface ProctorChatOptions {
  socket: ProctorSocket;
  auth: Auth;
  /** The candidate's name for a session id. */
  name: (sessionId: string) => string;
  /** A candidate raised a hand (true) or a proctor answered them (false). */
  help: (sessionId: string, raised: boolean) => void;
}

export class ProctorChat {
  readonly #socket: ProctorSocket;
  readonly #auth: Auth;
  readonly #name: ProctorChatOptions['name'];
  readonly #help: ProctorChatOptions['help'];
  readonly #list = new MessageList(byId('chat-log', HTMLOListElement), byId('chat-empty', HTMLElement));
  readonly #alert = byId('chat-alert', HTMLElement);
  readonly #form = byId('chat-form', HTMLFormElement);
  readonly #to = byId('chat-to', HTMLSelectElement);
  readonly #text = byId('chat-text', HTMLTextAreaElement);
  readonly #send = byId('chat-send', HTMLButtonElement);
  readonly #error = byId('chat-error', HTMLElement);
  readonly #noteForm = byId('note-form', HTMLFormElement);
  readonly #noteText = byId('note-text', HTMLTextAreaElement);
  readonly #noteSave = byId('note-save', HTMLButtonElement);
  readonly #noteError = byId('note-error', HTMLElement);
  readonly #notes = byId('notes', HTMLOListElement);
  /** Sessions whose earlier messages were loaded (or are loading). */
  readonly #backfilled = new Set<string>();
  readonly #backfillQueue: string[] = [];
  #backfilling = 0;

  constructor(options: ProctorChatOptions) {
    this.#socket = options.socket;
    this.#auth = options.auth;
    this.#name = options.name;
    this.#help = options.help;
    this.#socket.on('chat:message', (m) => this.#show(m, true));
    // After a reconnect, load each session's history again: pushes may have been missed.
    this.#socket.on('connect', () => this.#backfilled.clear());
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#sendMessage();
    });
    this.#noteForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#saveNote();
    });
    this.#to.addEventListener('change', () => void this.#loadNotes());
    this.#refreshControls();
  }

  /** A session the dashboard shows: it can be written to, and its history is loaded once. */
  addSession(sessionId: string): void {
    const name = this.#name(sessionId);
    const existing = [...this.#to.options].find((option) => option.value === sessionId);
    if (existing) {
      existing.textContent = name;
    } else {
      this.#to.append(el('option', { value: sessionId }, name));
      if (this.#to.options.length === 1) void this.#loadNotes();
    }
    this.#refreshControls();
    void this.#backfill(sessionId);
  }

  /** The session ended: its messages stay in the log, it can no longer be written to. */
  removeSession(sessionId: string): void {
    const selected = this.#to.value === sessionId;
    [...this.#to.options].find((option) => option.value === sessionId)?.remove();
    this.#refreshControls();
    if (selected) void this.#loadNotes();
  }

  /** Points the message box (and notes) at a session, e.g. to answer a raised hand. */
  select(sessionId: string): void {
    if (![...this.#to.options].some((option) => option.value === sessionId)) return;
    this.#to.value = sessionId;
    void this.#loadNotes();
    this.#text.focus();
  }

  #show(m: MessageView, live: boolean): void {
    const name = this.#name(m.sessionId);
    const added = this.#list.add(m, () => {
      const item = messageItem(m, m.from === 'candidate' ? name : 'Proctor');
      if (m.from === 'candidate') {
        const reply = el(
          'button',
          { type: 'button', class: 'link', 'aria-label': `Reply to ${name}` },
          'Reply',
        );
        reply.addEventListener('click', () => this.select(m.sessionId));
        item.append(' ', reply);
      }
      return item;
    });
    if (!added || !live) return;
    if (m.kind === 'help') {
      setText(this.#alert, `${name} needs help.`);
      this.#help(m.sessionId, true);
    } else if (m.from === 'proctor') {
      this.#help(m.sessionId, false);
    }
  }

  async #backfill(sessionId: string): Promise<void> {
    if (this.#backfilled.has(sessionId)) return;
    this.#backfilled.add(sessionId);
    this.#backfillQueue.push(sessionId);
    if (this.#backfilling >= BACKFILL_CONCURRENCY) return;
    this.#backfilling++;
    for (let next = this.#backfillQueue.shift(); next; next = this.#backfillQueue.shift()) {
      await this.#loadHistory(next);
    }
    this.#backfilling--;
  }

  async #loadHistory(sessionId: string): Promise<void> {
    try {
      const list = await this.#auth.json<MessageView[]>('GET', `/api/v1/sessions/${sessionId}/messages`);
      for (const m of list) this.#show(m, false);
    } catch (err) {
      this.#backfilled.delete(sessionId);
      setText(this.#error, `Earlier messages unavailable: ${errorText(err)}`);
    }
  }

  async #sendMessage(): Promise<void> {
    const sessionId = this.#to.value;
    const text = this.#text.value;
    if (!sessionId) return;
    if (text.trim() === '') {
      setText(this.#error, 'Type a message first.');
      this.#text.focus();
      return;
    }
    setText(this.#error, '');
    this.#send.disabled = true;
    try {
      this.#show(await request(this.#socket, 'chat:send', { sessionId, text }), false);
      this.#text.value = '';
    } catch (err) {
      setText(this.#error, `Not sent: ${errorText(err)}`);
    } finally {
      this.#refreshControls();
    }
  }

  async #loadNotes(): Promise<void> {
    const sessionId = this.#to.value;
    this.#notes.replaceChildren();
    setText(this.#noteError, '');
    if (!sessionId) return;
    try {
      const notes = await this.#auth.json<NoteLike[]>('GET', `/api/v1/sessions/${sessionId}/notes`);
      if (this.#to.value === sessionId) this.#notes.replaceChildren(...notes.map(noteItem));
    } catch (err) {
      setText(this.#noteError, `Notes unavailable: ${errorText(err)}`);
    }
  }

  async #saveNote(): Promise<void> {
    const sessionId = this.#to.value;
    if (!sessionId) return;
    this.#noteSave.disabled = true;
    const note = await submitNote(this.#auth, sessionId, this.#noteText, this.#noteError);
    if (note) {
      if (this.#to.value === sessionId) this.#notes.append(noteItem(note));
      this.#noteText.value = '';
    }
    this.#refreshControls();
  }

  #refreshControls(): void {
    const none = this.#to.options.length === 0;
    for (const control of [this.#to, this.#text, this.#send, this.#noteText, this.#noteSave]) {
      control.disabled = none;
    }
  }
}
