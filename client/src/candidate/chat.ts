/**
 * The candidate's side of the conversation: the proctor's messages and their own, a box to
 * answer and an "I need help" button (a raised hand). History comes from the REST API once the
 * session is known, so a reloaded page shows the conversation again.
 */
import { MessageList, messageItem } from '../shared/chat.js';
import { byId, setText } from '../shared/dom.js';
import type { MessageView } from '../shared/protocol.js';
import { errorText, request, type CandidateSocket } from '../shared/socket.js';

const senderLabel = (m: MessageView) => (m.from === 'candidate' ? 'You' : 'Proctor');

export class CandidateChat {
  readonly #socket: CandidateSocket;
  readonly #token: string;
  readonly #form = byId('chat-form', HTMLFormElement);
  readonly #text = byId('chat-text', HTMLTextAreaElement);
  readonly #send = byId('chat-send', HTMLButtonElement);
  readonly #help = byId('chat-help', HTMLButtonElement);
  readonly #error = byId('chat-error', HTMLElement);
  readonly #list = new MessageList(byId('chat-log', HTMLOListElement), byId('chat-empty', HTMLElement));
  #historyOf: string | null = null;
  #ended = false;

  constructor(socket: CandidateSocket, token: string) {
    this.#socket = socket;
    this.#token = token;
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#submit({ text: this.#text.value });
    });
    this.#help.addEventListener('click', () => void this.#submit({ kind: 'help' }));
    socket.on('chat:message', (m) => this.#show(m));
    socket.on('connect', () => this.#setEnabled(true));
    socket.on('disconnect', () => this.#setEnabled(false));
    socket.on('session:status', ({ sessionId }) => void this.#loadHistory(sessionId));
    this.#setEnabled(false);
  }

  /** The session ended: the conversation stays readable, nothing more can be sent. */
  end(): void {
    this.#ended = true;
    this.#setEnabled(false);
  }

  async #submit(payload: { text: string } | { kind: 'help' }): Promise<void> {
    if ('text' in payload && payload.text.trim() === '') {
      setText(this.#error, 'Type a message first.');
      this.#text.focus();
      return;
    }
    setText(this.#error, '');
    this.#setEnabled(false);
    try {
      this.#show(await request(this.#socket, 'chat:send', payload));
      if ('text' in payload) this.#text.value = '';
    } catch (err) {
      setText(this.#error, `Not sent: ${errorText(err)}`);
    } finally {
      this.#setEnabled(this.#socket.connected);
    }
  }

  #show(m: MessageView): void {
    this.#list.add(m, () => messageItem(m, senderLabel(m)));
  }

  async #loadHistory(sessionId: string): Promise<void> {
    if (this.#historyOf === sessionId) return;
    this.#historyOf = sessionId;
    try {
      const res = await fetch(`/api/v1/sessions/${encodeURIComponent(sessionId)}/messages`, {
        headers: { authorization: `Bearer ${this.#token}`, accept: 'application/json' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      for (const m of (await res.json()) as MessageView[]) this.#show(m);
    } catch (err) {
      this.#historyOf = null;
      console.warn('earlier messages unavailable', err);
    }
  }

  #setEnabled(on: boolean): void {
    const enabled = on && !this.#ended;
    this.#text.disabled = !enabled;
    this.#send.disabled = !enabled;
    this.#help.disabled = !enabled;
  }
}
