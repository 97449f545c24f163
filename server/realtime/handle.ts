import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { AppError, toAppError, unsafeTextIn, type Logger } from '../shared/index.js';
import type { Ack, AckData } from './protocol.js';

/** Token bucket per socket: a burst of `capacity` events, refilled at `perSecond`. */
export class EventBudget {
  #tokens: number;
  #updatedAt = Date.now();
  #rejected = 0;

  constructor(
    readonly capacity = 40,
    readonly perSecond = 20,
  ) {
    this.#tokens = capacity;
  }

  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#updatedAt) / 1000) * this.perSecond);
    this.#updatedAt = now;
    if (this.#tokens < 1) {
      this.#rejected += 1;
      return false;
    }
    this.#tokens -= 1;
    return true;
  }

  /** A client that keeps flooding after being told no is disconnected. */
  get abusive(): boolean {
    return this.#rejected > 200;
  }
}

/** One request event's handling: validate the payload, run, answer with the ack's data. */
export type Handler<Result> = (
  payload: unknown,
  call: { event: string; logger: Logger; deadlineMs?: number },
) => Promise<Ack<Result>>;

/**
 * The longest a request waits for its answer (a frozen database, a stuck worker): then it is
 * acked `unavailable`, and the late result is dropped. Above the database's own timeouts.
 */
export const ackDeadlineMs = 15_000;

/**
 * A handler table for one namespace: every event its client→server map declares, each returning
 * that event's ack data. A declared event without a handler does not compile.
 */
export type HandlerTable<Events> = { [Event in keyof Events & string]: Handler<AckData<Events[Event]>> };

/** A handler whose payload is checked by `schema` before `run` sees it. */
export function handler<Schema extends z.ZodType, Result>(
  schema: Schema,
  run: (payload: z.output<Schema>) => Promise<Result>,
): Handler<Result> {
  return async (payload, { event, logger, deadlineMs = ackDeadlineMs }) => {
    // NUL and lone surrogates cannot be stored (PostgreSQL refuses them): refused here, keys too.
    const unsafe = unsafeTextIn(payload);
    if (unsafe) return failure(new AppError('invalid_input', `invalid ${event} ${unsafe}`));
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return failure(
        new AppError('invalid_input', `invalid ${event} payload: ${where}${issue?.message ?? 'invalid'}`),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new AppError('unavailable', `${event} did not complete in time; try again`)),
        deadlineMs,
      );
    });
    const work = run(parsed.data);
    work.catch(() => undefined); // a late failure after the deadline answered is not unhandled
    try {
      return { ok: true, data: await Promise.race([work, late]) };
    } catch (error) {
      return failure(toAppError(error, logger));
    } finally {
      clearTimeout(timer);
    }
  };
}

const failure = (error: AppError): Ack<never> => ({
  ok: false,
  error: { code: error.code, message: error.message },
});

/**
 * Serves a socket's request events from its table: rate-limits each, runs its handler and
 * answers the ack with `{ok, data}` or `{ok:false, error}`. An event the table lacks is answered
 * `not_found`. Nothing a client sends can throw out of here.
 */
export function serveRequests<Events>(
  socket: Pick<Socket, 'onAny' | 'disconnect'>,
  table: HandlerTable<Events>,
  logger: Logger,
  budget = new EventBudget(),
): void {
  const handlers = new Map<string, Handler<unknown>>(Object.entries(table));
  const dispatch = async (event: string, args: unknown[]) => {
    // An emit without a payload puts the ack first.
    const ack = args.findLast((arg): arg is (response: Ack<unknown>) => void => typeof arg === 'function');
    const payload = typeof args[0] === 'function' ? undefined : args[0];
    const reply = (response: Ack<unknown>) => ack?.(response);
    if (!budget.take()) {
      reply(failure(new AppError('rate_limited', 'too many events; slow down')));
      if (budget.abusive) socket.disconnect(true);
      return;
    }
    const run = handlers.get(event);
    if (!run) {
      reply(failure(new AppError('not_found', `unknown event ${JSON.stringify(event.slice(0, 100))}`)));
      return;
    }
    reply(await run(payload, { event, logger }));
  };
  socket.onAny((event: string, ...args: unknown[]) => void dispatch(event, args));
}
