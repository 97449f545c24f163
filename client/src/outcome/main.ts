/**
 * The candidate's own record after the session (`/candidate/outcome?token=…`): what was
 * recorded and why, in plain words, what a reviewer decided, and how to appeal. Reads
 * `GET /api/v1/candidate/outcome` with the candidate's token; nothing else.
 */
import { byId, el, setText } from '../shared/dom.js';
import { dateTime, violationLabel } from '../shared/format.js';

interface Outcome {
  exam: { title: string };
  status: string;
  ended: boolean;
  startedAt: string | null;
  endedAt: string | null;
  score: number;
  recorded: { type: string; startedAt: string; sentence: string; points: number; review: string | null }[];
  reviewSummary: string;
  accommodations: string[];
  appeal: string;
}

const status = byId('outcome-status', HTMLElement);
const token = new URLSearchParams(location.search).get('token');

const reviewWords = (review: string | null) =>
  review === 'dismissed'
    ? 'A reviewer dismissed this: it does not count against you.'
    : review === 'confirmed'
      ? 'A reviewer confirmed this.'
      : 'Not reviewed yet.';

async function load(token: string): Promise<void> {
  const response = await fetch('/api/v1/candidate/outcome', {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    setText(status, `Your record could not be shown: ${body?.error?.message ?? response.statusText}.`);
    return;
  }
  const outcome = (await response.json()) as Outcome;
  setText(
    status,
    outcome.ended
      ? `${outcome.exam.title}: your session ended (${outcome.status})${outcome.endedAt ? ` on ${dateTime(outcome.endedAt)}` : ''}.`
      : `${outcome.exam.title}: your session is still ${outcome.status.replaceAll('_', ' ')}; this record may still change.`,
  );
  setText(
    byId('outcome-score', HTMLElement),
    `Suspicion score: ${outcome.score} of 100 (0 means nothing counted against you).`,
  );
  byId('outcome-items', HTMLUListElement).replaceChildren(
    ...(outcome.recorded.length === 0
      ? [el('li', {}, 'Nothing was recorded against you.')]
      : outcome.recorded.map((item) =>
          el(
            'li',
            { 'data-testid': 'outcome-item', 'data-type': item.type, 'data-review': item.review ?? 'none' },
            el('strong', {}, violationLabel(item.type)),
            `: ${item.sentence}, at ${dateTime(item.startedAt)}. `,
            `It added ${item.points} point${item.points === 1 ? '' : 's'}. ${reviewWords(item.review)}`,
          ),
        )),
  );
  setText(byId('outcome-review', HTMLElement), outcome.reviewSummary);
  setText(
    byId('outcome-accommodations', HTMLElement),
    outcome.accommodations.length > 0 ? outcome.accommodations.join('; ') + '.' : 'None were set for you.',
  );
  setText(byId('outcome-appeal', HTMLElement), outcome.appeal);
}

if (token) {
  load(token).catch((err: unknown) => setText(status, `Your record could not be loaded: ${String(err)}`));
} else {
  setText(
    status,
    'This link is incomplete: it is missing its access token. Open the exact link you were given.',
  );
}
