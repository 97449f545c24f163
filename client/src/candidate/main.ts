/**
 * Candidate page: preview on load, join on click (the click is the consent), then keep the
 * socket, the media and the browser signals alive until the session ends.
 */
import { byId } from '../shared/dom.js';
import { isTerminal, type SessionStatus } from '../shared/protocol.js';
import {
  candidateSocket,
  describeConnectError,
  errorText,
  request,
  type CandidateSocket,
} from '../shared/socket.js';
import { CandidateChat } from './chat.js';
import { FinishControl } from './finish.js';
import { LtiHandoff } from './lti-handoff.js';
import { Preview } from './preview.js';
import { Publisher } from './publisher.js';
import { SignalQueue, watchBrowserSignals } from './signals.js';
import { CandidateView } from './view.js';

const view = new CandidateView();
const joinButton = byId('join', HTMLButtonElement);
const fullscreenButton = byId('fullscreen', HTMLButtonElement);
const fullscreenHelp = byId('fullscreen-help', HTMLElement);
const setupTitle = byId('setup-title', HTMLElement);
const token = new URLSearchParams(location.search).get('token');

let publisher: Publisher | null = null;
/** From `GET /api/v1/candidate/settings`: the exam's policy and the candidate's accommodations. */
type FullscreenMode = 'off' | 'requested' | 'required_to_start';
let fullscreenMode: FullscreenMode = 'requested';

const preview = new Preview(
  {
    video: byId('preview', HTMLVideoElement),
    placeholder: byId('preview-placeholder', HTMLElement),
    camera: byId('camera', HTMLSelectElement),
    microphone: byId('microphone', HTMLSelectElement),
  },
  {
    track: (source, track) => void publisher?.setTrack(source, track),
    problem: (message) => view.setupError(message),
  },
);

if (token) {
  // Start the preview right away so the candidate can check framing before joining.
  preview.ensure().catch((err: unknown) => console.warn('preview did not start', err));
  loadSettings(token).catch((err: unknown) =>
    console.warn('settings not loaded; fullscreen is asked for', err),
  );
} else {
  joinButton.disabled = true;
  byId('preview-placeholder', HTMLElement).textContent = 'Camera not started.';
  view.fatal(
    'This link is incomplete',
    'It is missing its access token. Open the exact link you were given.',
  );
}
joinButton.addEventListener('click', () => {
  if (token) void join(token);
});

async function join(token: string): Promise<void> {
  // Must run inside the click (a user gesture); leaving fullscreen later is reported.
  const entered = fullscreenMode === 'off' ? Promise.resolve(true) : requestFullscreen();
  joinButton.disabled = true;
  joinButton.textContent = 'Joining…';
  view.setupError('');
  if (fullscreenMode === 'required_to_start' && !(await entered)) {
    // Not a violation: the exam simply starts in fullscreen. The help says how.
    joinButton.disabled = false;
    joinButton.textContent = 'Join exam';
    view.setupError('This exam starts in fullscreen. Enter fullscreen, then press “Join exam” again.');
    return;
  }
  try {
    await preview.ensure();
  } catch (err) {
    joinButton.disabled = false;
    joinButton.textContent = 'Join exam';
    view.setupError(`${errorText(err)} Then press “Join exam” again.`);
    return;
  }
  document.body.dataset.joined = 'true';
  setupTitle.textContent = 'Your camera and microphone';
  if (fullscreenMode !== 'off') offerFullscreen();
  startSession(candidateSocket(token), token);
}

function startSession(socket: CandidateSocket, token: string): void {
  const signals = new SignalQueue(token, (signal) => request(socket, 'client:signal', signal));
  const pub = new Publisher(socket, { state: (ok, message) => view.setMedia(ok, message) });
  publisher = pub;
  for (const source of ['camera', 'microphone'] as const) {
    const track = preview.track(source);
    if (track) void pub.setTrack(source, track);
  }
  let stopSignals: (() => void) | null = null;
  let ended = false;
  const finish = new FinishControl(() => request(socket, 'session:finish', {}));
  const handoff = new LtiHandoff(token);
  const chat = new CandidateChat(socket, token);

  const end = (status: SessionStatus) => {
    if (ended) return;
    ended = true;
    stopSignals?.();
    chat.end();
    pub.close();
    preview.stop();
    joinButton.hidden = true;
    fullscreenButton.remove();
    fullscreenHelp.remove();
    view.ended(status);
    if (document.fullscreenElement) void document.exitFullscreen();
    // The socket stays open a little for a last proctor message, then goes.
    window.setTimeout(() => socket.disconnect(), 5_000);
  };

  socket.on('connect', () => {
    view.setConnection('online');
    joinButton.textContent = 'Joined';
    if (ended) return;
    stopSignals ??= watchBrowserSignals((type, details) => signals.push(type, details));
    signals.setOnline(true);
    pub.connected();
    void pub.restart('join');
  });
  socket.on('disconnect', (reason) => {
    signals.setOnline(false);
    pub.disconnected();
    if (ended) return view.setConnection('offline');
    if (reason === 'io server disconnect') {
      // The server closed us on purpose (e.g. the session was taken over); don't fight it.
      view.setConnection('offline', 'disconnected by the server');
      view.setMedia(false, 'Not sharing: disconnected by the server. Reload the page to rejoin.');
      return;
    }
    view.setConnection('reconnecting');
    view.setMedia(false, 'Connection lost — your camera will reconnect automatically.');
  });
  socket.on('connect_error', (err) => {
    if (ended) return;
    const { code, message } = describeConnectError(err);
    // Transport errors ("xhr poll error") mean nothing to a candidate; socket.io keeps retrying.
    if (socket.active) return view.setConnection('reconnecting');
    // Refused by the server (bad or expired token, closed session): retrying won't help.
    view.setConnection('offline', code);
    view.setupError(`Could not join: ${message} (${code}).`);
    view.setMedia(false, 'Not sharing: the server refused this link.');
    delete document.body.dataset.joined;
    joinButton.textContent = 'Join exam';
    joinButton.disabled = true;
  });

  socket.on('session:status', ({ status }) => {
    view.setStatus(status);
    finish.update(status);
    handoff.update(status);
    if (isTerminal(status)) end(status);
  });
  socket.on('violation:opened', (v) => view.violationOpened(v));
  socket.on('violation:closed', (v) => view.violationClosed(v));
  socket.on('proctor:message', (m) => view.proctorMessage(m));
  socket.on('guidance', (g) => view.guidance(g));
  socket.on('liveness:challenge', (c) => view.livenessChallenge(c));
  socket.on('liveness:result', (r) => view.livenessResult(r));
  socket.on('media:reconnect', () => void pub.restart('media:reconnect'));

  view.setConnection('connecting');
  socket.connect();
}

async function loadSettings(token: string): Promise<void> {
  const response = await fetch('/api/v1/candidate/settings', {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`settings: HTTP ${response.status}`);
  const settings = (await response.json()) as { fullscreen: FullscreenMode };
  fullscreenMode = settings.fullscreen;
}

/** Resolves whether the page is in fullscreen afterwards; a refusal shows the candidate how. */
async function requestFullscreen(): Promise<boolean> {
  const root = document.documentElement;
  if (document.fullscreenElement) return true;
  if (!document.fullscreenEnabled || !root.requestFullscreen) {
    showFullscreenHelp();
    return false;
  }
  try {
    await root.requestFullscreen();
    fullscreenHelp.hidden = true;
    return true;
  } catch (err) {
    // Not a violation: some browsers and embeds refuse. The candidate is shown how instead.
    console.warn('fullscreen refused', err);
    showFullscreenHelp();
    return false;
  }
}

/** Tells the candidate how to enter fullscreen themselves when the page could not. */
function showFullscreenHelp(): void {
  fullscreenHelp.hidden = false;
}

/** After joining, a way back into fullscreen whenever the candidate is not in it. */
function offerFullscreen(): void {
  if (!document.fullscreenEnabled) return;
  const update = () => {
    const inFullscreen = document.fullscreenElement !== null;
    fullscreenButton.hidden = inFullscreen;
    if (inFullscreen) fullscreenHelp.hidden = true;
  };
  document.addEventListener('fullscreenchange', update);
  fullscreenButton.addEventListener('click', () => void requestFullscreen());
  // Give the request made by the join click a moment to settle before offering a button.
  window.setTimeout(update, 1_000);
}
