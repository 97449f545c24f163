import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** Resolves once the dashboard tile's video has a picture and its clock moves. */
export function tilePlays(page: Page, sessionId: string): Promise<unknown> {
  return page.waitForFunction(
    (id) => {
      // Runs in the page (no DOM types in this Node program).
      const scope = globalThis as any;
      const video = scope.document.querySelector(`[data-testid=tile][data-session="${id}"] video`);
      if (!video || video.videoWidth === 0) return false;
      const key = `t-${id}`;
      const previous = scope[key] as number | undefined;
      scope[key] = video.currentTime;
      return previous !== undefined && video.currentTime > previous;
    },
    sessionId,
    { timeout: 20_000, polling: 250 },
  );
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2.1 A and AA findings on the page as it is now, as "rule: target" lines. */
export async function axeFindings(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the pages' CSP (rightly) refuses injected script tags.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as any).axe.run((globalThis as any).document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((violation: any) => ({
      id: violation.id,
      targets: violation.nodes.map((node: any) => String(node.target)),
    }));
  });
  return (violations as { id: string; targets: string[] }[]).flatMap((violation) =>
    violation.targets.map((target) => `${violation.id}: ${target}`),
  );
}
