import { and, eq, inArray } from 'drizzle-orm';
import { candidates, exams, sessions, type Database } from '../db/index.js';
import type { MediaService } from '../media/index.js';
import { isFinal, type Policy, type SessionContext, type SessionView } from '../proctoring/index.js';
import type { Presence } from './presence.js';
import type { LiveSession } from './protocol.js';

export interface CandidateSession extends SessionContext {
  candidateId: string;
  /** The candidate registered a reference photo (identity can be checked). */
  hasReference: boolean;
  status: SessionView['status'];
}

/**
 * Looks up what the realtime layer needs about a session (tenant, exam, policy) and keeps it
 * while the session is live, so per-event work does not hit the database.
 */
export class SessionDirectory {
  readonly #db: Database;
  readonly #cache = new Map<string, CandidateSession>();

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * The session as stored now (a handshake must never trust a cached status: another node may
   * have ended or paused it). The cached entry, shared by this node's sockets of the session, is
   * refreshed in place.
   */
  async get(tenantId: string, sessionId: string): Promise<CandidateSession | undefined> {
    const [row] = await this.#db
      .select({ session: sessions, policy: exams.policy, reference: candidates.referenceEmbedding })
      .from(sessions)
      .innerJoin(exams, eq(exams.id, sessions.examId))
      .innerJoin(candidates, eq(candidates.id, sessions.candidateId))
      .where(and(eq(sessions.id, sessionId), eq(sessions.tenantId, tenantId)));
    if (!row) return undefined;
    const fresh: CandidateSession = {
      tenantId,
      examId: row.session.examId,
      sessionId,
      candidateId: row.session.candidateId,
      hasReference: row.reference !== null,
      status: row.session.status,
      policy: row.policy as Policy,
    };
    const cached = this.#cache.get(sessionId);
    const entry = cached && cached.tenantId === tenantId ? Object.assign(cached, fresh) : fresh;
    if (isFinal(entry.status)) this.#cache.delete(sessionId);
    else this.#cache.set(sessionId, entry);
    return entry;
  }

  /** Cached entry without a database round trip (undefined when not live here). */
  peek(sessionId: string): CandidateSession | undefined {
    return this.#cache.get(sessionId);
  }

  updateStatus(sessionId: string, status: SessionView['status']): void {
    const entry = this.#cache.get(sessionId);
    if (!entry || entry.status === status) return;
    entry.status = status;
    if (isFinal(status)) this.#cache.delete(sessionId);
  }

  /** Session views enriched with who the candidate is, whether they are connected and what they send. */
  async live(views: SessionView[], presence: Presence, media: MediaService): Promise<LiveSession[]> {
    if (views.length === 0) return [];
    const people = await this.#db
      .select({ id: candidates.id, name: candidates.name, externalId: candidates.externalId })
      .from(candidates)
      .where(inArray(candidates.id, [...new Set(views.map((view) => view.candidateId))]));
    const byId = new Map(people.map((person) => [person.id, person]));
    return views.map((view) => {
      const person = byId.get(view.candidateId);
      return {
        ...view,
        candidate: { name: person?.name ?? '', externalId: person?.externalId ?? '' },
        connected: presence.isConnected(view.id),
        producers: media.producersOfSession(view.id),
      };
    });
  }
}
