/**
 * A login or launch Vigil will not accept. The message is written for the candidate who sees it
 * (the browser shows the page); `reason` is the precise cause, for the audit entry.
 */
export class LtiRefusal extends Error {
  override name = 'LtiRefusal';

  constructor(
    readonly status: 400 | 401 | 404 | 409,
    readonly reason: string,
    readonly platform?: { id: string; tenantId: string },
  ) {
    super(reason);
  }
}

const headline: Record<LtiRefusal['status'], string> = {
  400: 'The exam link is incomplete',
  401: 'The exam could not be opened',
  404: 'This attempt is unknown',
  409: 'This attempt cannot be opened',
};

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small self-contained page (no scripts) that says what went wrong and what to do. */
export function refusalPage(refusal: LtiRefusal): string {
  return messagePage(
    headline[refusal.status],
    `${refusal.reason}.`,
    'Go back to your course and open the exam again. If this keeps happening, tell your instructor and quote the time shown below.',
  );
}

export function messagePage(title: string, ...paragraphs: string[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} – Vigil</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}h1{font-size:1.4rem}small{color:#555}</style>
</head><body><main><h1 data-testid="lti-title">${escape(title)}</h1>
${paragraphs.map((p) => `<p data-testid="lti-message">${escape(p)}</p>`).join('\n')}
<p><small>${escape(new Date().toISOString())}</small></p></main></body></html>`;
}
