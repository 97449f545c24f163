/**
 * The live dashboard for one exam: watches it over the `/proctor` socket, keeps one tile per
 * session, feeds violations, and routes each session's camera (and, on demand, microphone)
 * through one receive transport. Every (re)connection re-watches and rebuilds the media.
 */
import { byId, setText } from '../shared/dom.js';
import {
  isTerminal,
  type LiveSession,
  type ProducerInfo,
  type SessionAction,
  type Violation,
} from '../shared/protocol.js';
import {
  describeConnectError,
  errorText,
  request,
  RequestError,
  type ProctorSocket,
} from '../shared/socket.js';
import type { Auth } from './auth.js';
import type { SessionReportView } from './report-types.js';
import { ProctorChat } from './chat.js';
import { EvidenceViewer } from './evidence.js';
import { Feed } from './feed.js';
import { TileGrid } from './grid.js';
import { Subscriber } from './subscriber.js';
import { Tile } from './tile.js';

interface Entry {
  session: LiveSession;
  tile: Tile;
  producers: Map<string, ProducerInfo>;
  /** The camera producer whose consumer the tile shows. */
  videoProducerId: string | null;
  listening: boolean;
  backfilled: boolean;
  /** The latest suspicion score (analysis ticks), for sorting. */
  score: number;
}

/** Refusals that retrying won't fix: the proctor must pick another exam or sign in again. */
const FATAL_CODES = new Set(['not_found', 'forbidden', 'unauthorized', 'invalid_token', 'token_expired']);
const RETRY_MS = 5_000;
const BACKFILL_CONCURRENCY = 4;

export interface DashboardOptions {
  socket: ProctorSocket;
  auth: Auth;
  examId: string;
  /** The server refused us for good (bad token, no access to the exam). */
  onFatal: (message: string, code: string) => void;
}

export class Dashboard {
  readonly #socket: ProctorSocket;
  readonly #auth: Auth;
  readonly #examId: string;
  readonly #onFatal: DashboardOptions['onFatal'];
  readonly #entries = new Map<string, Entry>();
  readonly #tiles = byId('tiles', HTMLElement);
  readonly #noSessions = byId('no-sessions', HTMLElement);
  readonly #connection = byId('connection', HTMLElement);
  readonly #summary = byId('summary', HTMLElement);
  readonly #feed: Feed;
  readonly #evidence: EvidenceViewer;
  readonly #grid: TileGrid;
  readonly #chat: ProctorChat;
  #subscriber: Subscriber | null = null;
  #generation = 0;
  #retryTimer: number | undefined;

  constructor(options: DashboardOptions) {
    this.#socket = options.socket;
    this.#auth = options.auth;
    this.#examId = options.examId;
    this.#onFatal = options.onFatal;
    this.#evidence = new EvidenceViewer(options.auth);
    this.#feed = new Feed(byId('feed', HTMLOListElement), byId('feed-empty', HTMLElement), {
      candidateName: (id) => this.#entries.get(id)?.session.candidate.name ?? `Session ${id.slice(0, 8)}`,
      focusSession: (id) => this.#focus(id),
      openEvidence: (evidence, title) => void this.#evidence.open(evidence, title),
    });
    this.#grid = new TileGrid(
      () =>
        [...this.#entries.values()].map((entry) => ({
          id: entry.session.id,
          element: entry.tile.element,
          name: entry.session.candidate.name,
          openViolations: entry.tile.openViolationCount,
          score: entry.score,
          flagged: entry.session.flagged,
          helpRaised: entry.tile.element.hasAttribute('data-help'),
          connected: entry.session.connected,
        })),
      (id, visible) => this.#visibilityChanged(id, visible),
    );
    this.#chat = new ProctorChat({
      socket: options.socket,
      auth: options.auth,
      name: (id) => this.#entries.get(id)?.session.candidate.name ?? `Session ${id.slice(0, 8)}`,
      // A raised hand marks the tile until a proctor answers (the panel announces it).
      help: (id, raised) => {
        this.#entries.get(id)?.tile.element.toggleAttribute('data-help', raised);
        this.#grid.changed();
      },
    });
    this.#listen();
  }

  start(): void {
    this.#setConnection('connecting');
    this.#socket.connect();
  }

  // ---- socket events ---------------------------------------------------------------------------

  #listen(): void {
    const socket = this.#socket;
    socket.on('connect', () => void this.#sync());
    socket.on('disconnect', (reason) => {
      this.#generation++;
      this.#dropMedia('reconnecting');
      if (reason === 'io server disconnect') {
        this.#setConnection('offline', 'disconnected by the server');
        this.#onFatal(
          'The server closed this dashboard connection. Reload to reconnect.',
          'server_disconnect',
        );
      } else {
        this.#setConnection('reconnecting');
      }
    });
    socket.on('connect_error', (err) => {
      const { code, message } = describeConnectError(err);
      if (socket.active) return this.#setConnection('reconnecting', 'server unreachable');
      this.#setConnection('offline', code);
      this.#onFatal(message, code);
    });

    socket.on('session:joined', ({ session }) => {
      const entry = this.#upsert(session);
      void this.#consumeVideo(entry);
      void this.#backfill([entry]);
    });
    socket.on('session:left', ({ sessionId }) => this.#left(sessionId));
    socket.on('session:status', ({ sessionId, status, flagged }) => {
      const entry = this.#entries.get(sessionId);
      if (!entry) return;
      entry.session.status = status;
      entry.session.flagged = flagged;
      entry.tile.setStatus(status, flagged);
      this.#grid.changed();
    });
    socket.on('media:producer', ({ sessionId, producer }) => this.#producer(sessionId, producer));
    socket.on('media:producerClosed', ({ sessionId, producerId }) =>
      this.#producerClosed(sessionId, producerId),
    );
    socket.on('violation:opened', (v) => this.#violation(v));
    socket.on('violation:closed', (v) => this.#violation(v));
    socket.on('analysis:tick', (tick) => {
      const entry = this.#entries.get(tick.sessionId);
      if (!entry) return;
      entry.tile.tick(tick);
      entry.score = tick.score;
      this.#grid.changed();
    });
    // The media server restarted: every transport and producer id is stale.
    socket.on('media:reconnect', () => void this.#sync());
  }

  /** Watch the exam, reconcile the tiles, then rebuild the media path. */
  async #sync(): Promise<void> {
    const generation = ++this.#generation;
    window.clearTimeout(this.#retryTimer);
    this.#dropMedia('reconnecting');
    this.#setConnection('connecting', 'loading the exam');
    try {
      const { sessions } = await request(this.#socket, 'exam:watch', { examId: this.#examId });
      if (generation !== this.#generation) return;
      const live = new Set(sessions.map((s) => s.id));
      // Sessions that ended while we were away have no tile any more.
      for (const id of [...this.#entries.keys()]) if (!live.has(id)) this.#remove(id);
      const entries = sessions.map((s) => this.#upsert(s));
      this.#setConnection('online');
      void this.#backfill(entries.filter((e) => !e.backfilled));
      await this.#buildMedia(generation);
    } catch (err) {
      if (generation !== this.#generation) return;
      if (err instanceof RequestError && FATAL_CODES.has(err.code)) {
        this.#setConnection('offline', err.code);
        this.#onFatal(`Cannot watch this exam: ${err.message}`, err.code);
        return;
      }
      this.#setConnection('reconnecting', errorText(err));
      this.#retryTimer = window.setTimeout(() => void this.#sync(), RETRY_MS);
    }
  }

  async #buildMedia(generation: number): Promise<void> {
    const subscriber = await Subscriber.create(this.#socket, this.#examId, () => {
      // ICE failed while the socket stayed up (network change): start over shortly.
      if (generation !== this.#generation) return;
      this.#dropMedia('reconnecting');
      window.clearTimeout(this.#retryTimer);
      this.#retryTimer = window.setTimeout(() => void this.#sync(), 1_000);
    });
    if (generation !== this.#generation) return subscriber.close();
    this.#subscriber = subscriber;
    await Promise.all(
      [...this.#entries.values()].map(async (entry) => {
        await this.#consumeVideo(entry);
        if (entry.listening)
          await this.#consumeAudio(entry).catch((err: unknown) => entry.tile.setError(errorText(err)));
      }),
    );
  }

  /** The transport is gone (disconnect, restart): tiles wait for the next one. */
  #dropMedia(reason: 'reconnecting'): void {
    this.#subscriber?.close();
    this.#subscriber = null;
    for (const entry of this.#entries.values()) {
      entry.videoProducerId = null;
      if (entry.session.connected) entry.tile.clearVideo(reason);
      entry.tile.playAudio(null);
    }
  }

  // ---- sessions --------------------------------------------------------------------------------

  #upsert(session: LiveSession): Entry {
    let entry = this.#entries.get(session.id);
    if (entry) {
      entry.session = session;
      entry.tile.update(session);
    } else {
      const tile = new Tile(session, {
        action: (id, action, message) => this.#action(id, action, message),
        listen: (id, on) => this.#setListening(id, on),
        explain: (id) =>
          this.#auth
            .json<SessionReportView>('GET', `/api/v1/sessions/${id}/report`)
            .then((report) => report.explanation.contributions),
      });
      entry = {
        session,
        tile,
        producers: new Map(),
        videoProducerId: null,
        listening: false,
        backfilled: false,
        score: session.suspicionScore,
      };
      this.#entries.set(session.id, entry);
      this.#tiles.append(tile.element);
      this.#grid.add(tile.element);
    }
    entry.producers = new Map(session.producers.map((p) => [p.id, p]));
    this.#feed.rename(session.id);
    this.#chat.addSession(session.id);
    this.#updateSummary();
    return entry;
  }

  #left(sessionId: string): void {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    if (isTerminal(entry.session.status)) return this.#remove(sessionId);
    // Still a live session, just offline: keep the tile so the proctor sees the drop.
    entry.session.connected = false;
    for (const id of entry.producers.keys()) this.#subscriber?.release(id);
    entry.producers.clear();
    entry.videoProducerId = null;
    entry.tile.setConnected(false);
    entry.tile.playAudio(null);
    this.#grid.changed();
    this.#updateSummary();
  }

  #remove(sessionId: string): void {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    for (const id of entry.producers.keys()) this.#subscriber?.release(id);
    entry.tile.element.remove();
    this.#entries.delete(sessionId);
    this.#grid.remove(sessionId, entry.tile.element);
    this.#chat.removeSession(sessionId);
    this.#updateSummary();
  }

  async #action(sessionId: string, action: SessionAction, message?: string): Promise<void> {
    const view = await request(
      this.#socket,
      'session:action',
      message ? { sessionId, action, message } : { sessionId, action },
    );
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    entry.session.status = view.status;
    entry.session.flagged = view.flagged;
    entry.tile.setStatus(view.status, view.flagged);
    entry.tile.setScore(view.suspicionScore);
  }

  // ---- media -----------------------------------------------------------------------------------

  #producer(sessionId: string, producer: ProducerInfo): void {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    const known = entry.producers.has(producer.id);
    entry.producers.set(producer.id, producer);
    entry.session.connected = true;
    entry.tile.setConnected(true);
    if (producer.kind === 'video') {
      if (producer.id === entry.videoProducerId) entry.tile.setVideoPaused(producer.paused);
      else void this.#consumeVideo(entry);
    } else if (!known && entry.listening) {
      void this.#consumeAudio(entry).catch((err: unknown) => entry.tile.setError(errorText(err)));
    }
  }

  #producerClosed(sessionId: string, producerId: string): void {
    this.#subscriber?.release(producerId);
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    const producer = entry.producers.get(producerId);
    entry.producers.delete(producerId);
    if (producerId === entry.videoProducerId) {
      entry.videoProducerId = null;
      entry.tile.clearVideo('off');
      // A replacement may already be announced (re-produce after a reconnect).
      void this.#consumeVideo(entry);
    }
    if (producer?.kind === 'audio' && entry.listening) entry.tile.playAudio(null);
  }

  /** Show the session's newest camera producer. */
  async #consumeVideo(entry: Entry): Promise<void> {
    const subscriber = this.#subscriber;
    const producer = [...entry.producers.values()].reverse().find((p) => p.kind === 'video');
    if (!subscriber || !producer || producer.id === entry.videoProducerId) return;
    const previous = entry.videoProducerId;
    entry.videoProducerId = producer.id;
    if (previous) subscriber.release(previous);
    try {
      // A tile off screen (scrolled away, another page) costs neither side any video.
      await subscriber.consume(producer.id, (track) => entry.tile.showVideo(track), {
        paused: !this.#grid.isVisible(entry.session.id),
      });
      entry.tile.setVideoPaused(producer.paused);
      // It may have left or come into view while the consumer was being made.
      this.#visibilityChanged(entry.session.id, this.#grid.isVisible(entry.session.id));
    } catch (err) {
      if (subscriber.closed || entry.videoProducerId !== producer.id) return;
      entry.videoProducerId = null;
      entry.tile.clearVideo('error');
      entry.tile.setError(`Video: ${errorText(err)}`);
    }
  }

  async #consumeAudio(entry: Entry): Promise<void> {
    const subscriber = this.#subscriber;
    if (!subscriber) throw new Error('Media is reconnecting; try again in a moment.');
    const producer = [...entry.producers.values()].reverse().find((p) => p.kind === 'audio');
    if (!producer) throw new Error('This candidate is not sending audio.');
    await subscriber.consume(producer.id, (track) => entry.tile.playAudio(track));
  }

  async #setListening(sessionId: string, on: boolean): Promise<void> {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    entry.listening = on;
    if (on) {
      try {
        return await this.#consumeAudio(entry);
      } catch (err) {
        entry.listening = false;
        throw err;
      }
    }
    entry.tile.playAudio(null);
    for (const p of entry.producers.values()) if (p.kind === 'audio') this.#subscriber?.pauseLocally(p.id);
  }

  /** Tiles off screen pause their video; back on screen it resumes (with a fresh keyframe). */
  #visibilityChanged(sessionId: string, visible: boolean): void {
    const producerId = this.#entries.get(sessionId)?.videoProducerId;
    if (!producerId || !this.#subscriber) return;
    if (visible) this.#subscriber.resumeLocally(producerId);
    else this.#subscriber.pauseLocally(producerId);
  }

  // ---- violations ------------------------------------------------------------------------------

  #violation(v: Violation): void {
    this.#feed.upsert(v);
    this.#entries.get(v.sessionId)?.tile.violation(v);
    this.#grid.changed();
    this.#updateSummary();
  }

  /** Violations from before this page opened, so the feed is the session's whole story. */
  async #backfill(entries: Entry[]): Promise<void> {
    const queue = entries.filter((e) => !e.backfilled);
    for (const e of queue) e.backfilled = true;
    const worker = async () => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) {
        try {
          const list = await this.#auth.json<Violation[]>(
            'GET',
            `/api/v1/sessions/${entry.session.id}/violations`,
          );
          for (const v of list) this.#violation(v);
        } catch (err) {
          entry.backfilled = false;
          entry.tile.setError(`Earlier violations unavailable: ${errorText(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: BACKFILL_CONCURRENCY }, worker));
  }

  // ---- chrome ----------------------------------------------------------------------------------

  #focus(sessionId: string): void {
    const tile = this.#entries.get(sessionId)?.tile.element;
    if (!tile) return;
    tile.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    tile.focus({ preventScroll: true });
  }

  #setConnection(state: 'offline' | 'connecting' | 'online' | 'reconnecting', detail = ''): void {
    const words = {
      offline: 'Offline',
      connecting: 'Connecting…',
      online: 'Live',
      reconnecting: 'Reconnecting…',
    };
    setText(this.#connection, detail ? `${words[state]} (${detail})` : words[state]);
    this.#connection.dataset.state = state;
  }

  #updateSummary(): void {
    const total = this.#entries.size;
    const online = [...this.#entries.values()].filter((e) => e.session.connected).length;
    this.#noSessions.hidden = total > 0;
    setText(this.#summary, `${online} of ${total} online · ${this.#feed.openCount} open violations`);
  }
}
