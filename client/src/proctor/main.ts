/**
 * Proctor dashboard entry: credentials (URL token or sign-in), exam (URL or picker), then the
 * live dashboard, or with `view=review` the record of every session of the exam.
 */
import { byId } from '../shared/dom.js';
import { proctorSocket } from '../shared/socket.js';
import { Auth } from './auth.js';
import { showAnalysisBanner } from './banner.js';
import { Dashboard } from './dashboard.js';
import { EvidenceViewer } from './evidence.js';
import { Review } from './review.js';
import { showExamPicker, showLogin } from './login.js';

const params = new URLSearchParams(location.search);
const auth = Auth.fromPage(params.get('token'));
const fatal = byId('fatal', HTMLElement);
const signOut = byId('sign-out', HTMLButtonElement);

async function main(): Promise<void> {
  if (!auth.signedIn) await showLogin(auth);
  signOut.hidden = !auth.canSignOut;

  let examId = params.get('exam');
  if (!examId) {
    examId = await showExamPicker(auth);
    // A reload comes back to the same exam.
    params.set('exam', examId);
    history.replaceState(null, '', `${location.pathname}?${params.toString()}`);
  }

  void showExamTitle(examId);
  const reviewing = params.get('view') === 'review';
  showModeLink(reviewing);
  if (reviewing) {
    byId('review', HTMLElement).hidden = false;
    byId('connection', HTMLElement).hidden = true;
    await new Review({ auth, examId, viewer: new EvidenceViewer(auth) }).load();
    return;
  }
  byId('dashboard', HTMLElement).hidden = false;
  void showAnalysisBanner(byId('analysis-banner', HTMLElement));

  // The socket asks for the token on every (re)connect, so an expiring one is refreshed first.
  const socket = proctorSocket(() => auth.token(), examId);

  const dashboard = new Dashboard({
    socket,
    auth,
    examId,
    onFatal: (message, code) => {
      fatal.hidden = false;
      fatal.replaceChildren(`${message} (${code}). `);
      if (auth.canSignOut) {
        const again = document.createElement('a');
        again.href = '/proctor';
        again.textContent = 'Sign in again';
        again.addEventListener('click', () => auth.signOut());
        fatal.append(again);
      }
    },
  });
  dashboard.start();
}

/** The link to the other view of the same exam (credentials and exam stay in the URL). */
function showModeLink(reviewing: boolean): void {
  const link = byId('mode-link', HTMLAnchorElement);
  const target = new URLSearchParams(params);
  if (reviewing) target.delete('view');
  else target.set('view', 'review');
  link.href = `${location.pathname}?${target.toString()}`;
  link.textContent = reviewing ? 'Live dashboard' : 'Review sessions';
  link.hidden = false;
}

async function showExamTitle(examId: string): Promise<void> {
  try {
    const exam = await auth.json<{ title?: unknown }>('GET', `/api/v1/exams/${examId}`);
    if (typeof exam.title !== 'string') return;
    byId('exam-title', HTMLElement).textContent = exam.title;
    document.title = `${exam.title} · Vigil proctor`;
  } catch (err) {
    console.info('exam title unavailable', err);
  }
}

signOut.addEventListener('click', () => {
  auth.signOut();
  location.href = '/proctor';
});

main().catch((err: unknown) => {
  fatal.hidden = false;
  fatal.textContent = err instanceof Error ? err.message : String(err);
});
