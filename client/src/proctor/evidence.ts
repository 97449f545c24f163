/**
 * Evidence viewer: evidence URLs need the bearer token, so the bytes are fetched here and shown
 * from a blob URL in a modal dialog (keyboard: Esc closes, focus returns to the opener).
 */
import { byId, el } from '../shared/dom.js';
import type { Evidence } from '../shared/protocol.js';
import { errorText } from '../shared/socket.js';
import type { Auth } from './auth.js';

export class EvidenceViewer {
  readonly #auth: Auth;
  readonly #dialog = byId('evidence-dialog', HTMLDialogElement);
  readonly #title = byId('evidence-title', HTMLElement);
  readonly #body = byId('evidence-body', HTMLElement);
  #objectUrl: string | null = null;
  #request = 0;

  constructor(auth: Auth) {
    this.#auth = auth;
    // Blob URLs hold the bytes in memory until revoked.
    this.#dialog.addEventListener('close', () => this.#revoke());
  }

  async open(evidence: Evidence, title: string): Promise<void> {
    const request = ++this.#request;
    this.#revoke();
    this.#title.textContent = title;
    this.#body.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    if (!this.#dialog.open) this.#dialog.showModal();
    try {
      const blob = await this.#auth.blob(evidence.url);
      if (request !== this.#request || !this.#dialog.open) return;
      const url = URL.createObjectURL(blob);
      this.#objectUrl = url;
      this.#body.replaceChildren(
        media(blob.type, url, title),
        el(
          'p',
          { class: 'evidence-meta' },
          el(
            'a',
            { href: url, download: `evidence-${evidence.id}`, target: '_blank', rel: 'noopener' },
            'Download',
          ),
          ' · SHA-256 ',
          el('code', {}, evidence.sha256),
        ),
      );
    } catch (err) {
      if (request === this.#request) this.#body.replaceChildren(el('p', { class: 'error' }, errorText(err)));
    }
  }

  #revoke(): void {
    if (this.#objectUrl) URL.revokeObjectURL(this.#objectUrl);
    this.#objectUrl = null;
  }
}

function media(type: string, url: string, title: string): HTMLElement {
  if (type.startsWith('image/')) return el('img', { src: url, alt: `Evidence: ${title}` });
  if (type.startsWith('audio/')) return el('audio', { src: url, controls: true });
  if (type.startsWith('video/')) return el('video', { src: url, controls: true });
  return el('p', {}, `Stored as ${type || 'unknown type'}; use Download to open it.`);
}
