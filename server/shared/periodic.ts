import type { Logger } from './logger.js';

/**
 * Runs `task` soon after start-up and then every `intervalMs`, one run at a time, in the
 * background (timers do not keep the process alive). A failed run is logged and the next one
 * comes as planned. `stop()` cancels the timers and waits for a run in progress.
 */
export function runPeriodically(
  task: () => Promise<void>,
  options: { intervalMs: number; firstDelayMs?: number; logger: Logger; what: string },
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const run = () => {
    running = running
      .then(() => (stopped ? undefined : task()))
      .catch((error: unknown) => options.logger.error({ err: error }, `${options.what} failed`));
  };
  const first = setTimeout(run, options.firstDelayMs ?? Math.min(10_000, options.intervalMs));
  const timer = setInterval(run, options.intervalMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
