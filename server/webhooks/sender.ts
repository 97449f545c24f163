import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { hostOf, resolveTarget, TargetRefused } from './ssrf.js';

export interface SendOutcome {
  /** The HTTP status, or null when no answer came (refused, network error, timeout). */
  status: number | null;
  /** Present on a failure: a short reason for the delivery log. */
  error: string | null;
  retryAfter: string | undefined;
  durationMs: number;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivateTargets: boolean;
  /** Bytes of the answer read at most (the rest is dropped, the connection closed). */
  maxResponseBytes: number;
}

/**
 * POSTs one signed delivery. The target's name is resolved again here and the socket connects
 * to the address that was checked (no second lookup a rebinding DNS could answer differently).
 * Redirects are not followed (node's client never follows them; a 3xx is simply not a 2xx).
 */
export async function sendWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: SendOptions,
): Promise<SendOutcome> {
  const started = performance.now();
  const done = (partial: Omit<SendOutcome, 'durationMs'>): SendOutcome => ({
    ...partial,
    durationMs: Math.round(performance.now() - started),
  });
  const url = new URL(target);
  let addresses;
  let lookupTimer: NodeJS.Timeout | undefined;
  try {
    // The name lookup counts against the attempt's timeout too (a resolver can hang for long).
    addresses = await Promise.race([
      resolveTarget(hostOf(url), options.allowPrivateTargets),
      new Promise<never>((_, reject) => {
        lookupTimer = setTimeout(
          () => reject(new Error(`name lookup timed out after ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    const message =
      error instanceof TargetRefused
        ? `target refused: ${error.message}`
        : error instanceof Error
          ? error.message
          : String(error);
    return done({ status: null, error: message, retryAfter: undefined });
  } finally {
    clearTimeout(lookupTimer);
  }
  const remainingMs = Math.max(1, options.timeoutMs - (performance.now() - started));
  const pinned = addresses[0]!;
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<SendOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(outcome));
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        lookup,
        agent: false,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'Vigil-Webhooks/1',
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const retryAfter: string | undefined = response.headers['retry-after'];
        let received = 0;
        const settle = () =>
          finish({
            status,
            error: status >= 200 && status < 300 ? null : `HTTP ${status}`,
            retryAfter,
          });
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          // Only the status matters: a large or endless answer is cut off, not read.
          if (received > options.maxResponseBytes) {
            settle();
            response.destroy();
          }
        });
        response.on('end', settle);
        response.on('error', settle);
        response.on('close', settle);
      },
    );
    const timer = setTimeout(() => {
      finish({ status: null, error: `timed out after ${options.timeoutMs} ms`, retryAfter: undefined });
      request.destroy();
    }, remainingMs);
    request.on('error', (error) => finish({ status: null, error: error.message, retryAfter: undefined }));
    request.end(body);
  });
}
