import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { toAppError } from '../http/index.js';
import { AppError, type Logger } from '../shared/index.js';
import type { Ack } from './protocol.js';

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

/**
 * Registers a request event: rate-limits it, validates the payload with zod, runs the handler
 * and answers the ack with `{ok, data}` or `{ok:false, error}`. Nothing a client sends can
 * throw out of here.
 */
export function handle<Schema extends z.ZodType, Result>(
  socket: Socket,
  budget: EventBudget,
  logger: Logger,
  event: string,
  schema: Schema,
  handler: (payload: z.output<Schema>) => Promise<Result>,
): void {
  socket.on(event, async (...args: unknown[]) => {
    // An emit without a payload puts the ack first.
    const ack = args.findLast((arg): arg is (response: Ack<Result>) => void => typeof arg === 'function');
    const payload = typeof args[0] === 'function' ? undefined : args[0];
    const reply = (response: Ack<Result>) => ack?.(response);
    if (!budget.take()) {
      reply({ ok: false, error: { code: 'rate_limited', message: 'too many events; slow down' } });
      if (budget.abusive) socket.disconnect(true);
      return;
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      reply({
        ok: false,
        error: {
          code: 'invalid_input',
          message: `invalid ${event} payload: ${where}${issue?.message ?? 'invalid'}`,
        },
      });
      return;
    }
    try {
      reply({ ok: true, data: await handler(parsed.data) });
    } catch (error) {
      const appError = error instanceof AppError ? error : toAppError(error, logger);
      reply({ ok: false, error: { code: appError.code, message: appError.message } });
    }
  });
}
