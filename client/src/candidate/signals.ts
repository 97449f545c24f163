/**
 * Browser signals (tab hidden, window blur, fullscreen exit, copy/paste, extra displays) and
 * their delivery as `client:signal`. Each signal gets the next `seq` of this session; the queue
 * and the counter live in sessionStorage (keyed by token), so a reload or a reconnect resends
 * the same seq and the server can drop the duplicate.
 */
import type { ClientSignal, SignalType } from '../shared/protocol.js';
import { RequestError } from '../shared/socket.js';

type Details = NonNullable<ClientSignal['details']>;

interface Stored {
  nextSeq: number;
  pending: ClientSignal[];
}

/** Bounded so a candidate offline for hours can't fill sessionStorage. */
const MAX_PENDING = 500;
/** Worth retrying later; any other refusal will never succeed, so that signal is dropped. */
const RETRYABLE = new Set(['timeout', 'rate_limited']);
const RETRY_MS = 3_000;

export class SignalQueue {
  readonly #key: string;
  readonly #send: (signal: ClientSignal) => Promise<unknown>;
  #state: Stored;
  #online = false;
  #flushing = false;
  #retryTimer: number | undefined;

  constructor(token: string, send: (signal: ClientSignal) => Promise<unknown>) {
    this.#key = `vigil:signals:${token}`;
    this.#send = send;
    this.#state = this.#load();
  }

  push(type: SignalType, details?: Details): void {
    const signal: ClientSignal = { type, at: new Date().toISOString(), seq: this.#state.nextSeq++ };
    if (details) signal.details = details;
    this.#state.pending.push(signal);
    if (this.#state.pending.length > MAX_PENDING) this.#state.pending.shift();
    this.#save();
    void this.flush();
  }

  setOnline(online: boolean): void {
    this.#online = online;
    if (online) void this.flush();
  }

  /** Send pending signals in order; stops at the first one that should be retried. */
  async flush(): Promise<void> {
    if (this.#flushing || !this.#online) return;
    this.#flushing = true;
    window.clearTimeout(this.#retryTimer);
    try {
      for (;;) {
        const next = this.#state.pending[0];
        if (!next || !this.#online) break;
        try {
          await this.#send(next);
        } catch (err) {
          const code = err instanceof RequestError ? err.code : 'unknown';
          if (RETRYABLE.has(code)) {
            this.#retryTimer = window.setTimeout(() => void this.flush(), RETRY_MS);
            break;
          }
          console.warn(`client:signal ${next.type}#${next.seq} refused (${code}); dropping it`, err);
        }
        // Accepted, a duplicate, or refused for good: it is done either way.
        if (this.#state.pending[0] === next) this.#state.pending.shift();
        this.#save();
      }
    } finally {
      this.#flushing = false;
    }
  }

  #load(): Stored {
    try {
      const raw = sessionStorage.getItem(this.#key);
      const parsed: unknown = raw ? JSON.parse(raw) : null;
      if (isStored(parsed)) return parsed;
    } catch (err) {
      // Storage can be disabled (privacy mode); signals still work, only without reload safety.
      console.warn('sessionStorage unavailable for signals', err);
    }
    return { nextSeq: freshSeq(), pending: [] };
  }

  #save(): void {
    try {
      sessionStorage.setItem(this.#key, JSON.stringify(this.#state));
    } catch (err) {
      console.warn('could not persist signals', err);
    }
  }
}

/**
 * Where a tab without stored state starts counting: seconds since 2025-01-01. A second tab or a
 * restarted browser (sessionStorage gone) then can't reuse the seqs of an earlier tab unless
 * that tab sent more than one signal per second on average; fits the int32 cap until 2093.
 */
function freshSeq(): number {
  return Math.max(0, Math.floor((Date.now() - Date.UTC(2025, 0, 1)) / 1000));
}

function isStored(value: unknown): value is Stored {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Stored>;
  return typeof v.nextSeq === 'number' && Number.isInteger(v.nextSeq) && Array.isArray(v.pending);
}

/** How long a hidden tab or a lost focus waits to see whether the page is closing instead. */
const LEAVING_MS = 200;

/** A fullscreen exit this close to the tab being hidden is the tab switch (the browser's doing). */
const TAB_SWITCH_MS = 1_000;

/**
 * `fullscreen_exit` only for leaving a fullscreen the page was in: a page that never entered it
 * reports nothing, and an exit that comes with the tab being hidden is already `tab_hidden`
 * (browsers leave fullscreen when the tab goes), so it is not reported twice. The exit is
 * decided a moment later because the browser may fire it before `visibilitychange`.
 */
function watchFullscreen(
  report: (type: SignalType) => void,
  tabSwitched: () => boolean,
  signal: AbortSignal,
): void {
  let entered = false;
  document.addEventListener(
    'fullscreenchange',
    () => {
      if (document.fullscreenElement) {
        entered = true;
        return report('fullscreen_enter');
      }
      if (!entered) return;
      entered = false;
      window.setTimeout(() => {
        if (!signal.aborted && !tabSwitched() && !document.fullscreenElement) report('fullscreen_exit');
      }, TAB_SWITCH_MS / 2);
    },
    { signal },
  );
}

/** Screen with the Window Management API's `isExtended` (Chromium); absent elsewhere. */
interface MaybeExtendedScreen extends EventTarget {
  isExtended?: boolean;
}

/**
 * Listen for the browser events the server turns into violations. Returns a function that
 * removes every listener (the session ended).
 */
export function watchBrowserSignals(report: (type: SignalType, details?: Details) => void): () => void {
  const stop = new AbortController();
  const { signal } = stop;

  let hiddenAt = document.hidden ? Date.now() : -Infinity;
  // A page being closed or navigated away also turns hidden and loses focus: that is the page
  // leaving (connection_lost on the server), not a tab switch. Those two wait a moment, and a
  // page that is going by then reports neither.
  let leaving = false;
  window.addEventListener('pagehide', () => (leaving = true), { signal });
  window.addEventListener('pageshow', () => (leaving = false), { signal });
  const unlessLeaving = (type: SignalType) =>
    window.setTimeout(() => {
      if (!leaving && !signal.aborted) report(type);
    }, LEAVING_MS);
  document.addEventListener(
    'visibilitychange',
    () => {
      if (!document.hidden) return report('tab_visible');
      hiddenAt = Date.now();
      unlessLeaving('tab_hidden');
    },
    { signal },
  );
  window.addEventListener('blur', () => unlessLeaving('window_blur'), { signal });
  window.addEventListener('focus', () => report('window_focus'), { signal });
  watchFullscreen(report, () => document.hidden || Date.now() - hiddenAt < TAB_SWITCH_MS, signal);
  for (const action of ['copy', 'cut', 'paste'] as const) {
    // Only the action is reported, never the clipboard's content.
    document.addEventListener(action, () => report('copy_paste', { action }), { signal });
  }

  const screenApi = window.screen as unknown as MaybeExtendedScreen;
  if (typeof screenApi.isExtended === 'boolean') {
    let extended = screenApi.isExtended;
    if (extended) report('multiple_displays');
    screenApi.addEventListener(
      'change',
      () => {
        const now = screenApi.isExtended === true;
        if (now && !extended) report('multiple_displays');
        extended = now;
      },
      { signal },
    );
  }
  return () => stop.abort();
}
