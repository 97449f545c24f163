/**
 * The candidate's camera and microphone: the live preview, the device pickers, and the current
 * tracks. The publisher sends whatever tracks this holds; a picker change swaps one track.
 */
import { CAMERA_CONSTRAINTS, MIC_CONSTRAINTS } from '../shared/media.js';
import { el } from '../shared/dom.js';

export type Source = 'camera' | 'microphone';

export interface PreviewElements {
  video: HTMLVideoElement;
  placeholder: HTMLElement;
  camera: HTMLSelectElement;
  microphone: HTMLSelectElement;
}

export interface PreviewEvents {
  /** A track was (re)acquired: the publisher replaces or produces it. */
  track(source: Source, track: MediaStreamTrack): void;
  /** Getting a device failed, or a track stopped on its own (unplugged, revoked). */
  problem(message: string): void;
}

const KIND: Record<Source, MediaDeviceKind> = { camera: 'videoinput', microphone: 'audioinput' };
const NOUN: Record<Source, string> = { camera: 'Camera', microphone: 'Microphone' };

export class Preview {
  readonly #els: PreviewElements;
  readonly #events: PreviewEvents;
  readonly #tracks = new Map<Source, MediaStreamTrack>();
  #starting: Promise<void> | null = null;
  #stopped = false;

  constructor(els: PreviewElements, events: PreviewEvents) {
    this.#els = els;
    this.#events = events;
    els.camera.addEventListener('change', () => void this.#switch('camera'));
    els.microphone.addEventListener('change', () => void this.#switch('microphone'));
    // Plugging in a headset should show up in the picker without a reload.
    navigator.mediaDevices?.addEventListener('devicechange', () => void this.#fillPickers());
    els.video.addEventListener('playing', () => (els.placeholder.hidden = true));
  }

  track(source: Source): MediaStreamTrack | undefined {
    const track = this.#tracks.get(source);
    return track?.readyState === 'live' ? track : undefined;
  }

  /** Start both devices once; later calls wait for the same start or retry after a failure. */
  ensure(): Promise<void> {
    if (this.track('camera') && this.track('microphone')) return Promise.resolve();
    this.#starting ??= this.#start().finally(() => (this.#starting = null));
    return this.#starting;
  }

  /** Stop every track for good (the session ended). */
  stop(): void {
    this.#stopped = true;
    for (const track of this.#tracks.values()) track.stop();
    this.#tracks.clear();
    this.#els.video.srcObject = null;
    this.#showPlaceholder('Camera off — the session has ended.');
    this.#els.camera.disabled = true;
    this.#els.microphone.disabled = true;
  }

  async #start(): Promise<void> {
    this.#showPlaceholder('Starting camera…');
    // A retry after a partial failure: release what we hold so both devices can be reopened.
    for (const track of this.#tracks.values()) track.stop();
    let stream: MediaStream;
    try {
      if (!navigator.mediaDevices?.getUserMedia)
        throw new Error('This browser cannot access a camera here (HTTPS is required).');
      stream = await navigator.mediaDevices.getUserMedia({
        video: this.#constraints('camera'),
        audio: this.#constraints('microphone'),
      });
    } catch (err) {
      const message = deviceErrorText(err);
      this.#showPlaceholder(message);
      this.#events.problem(message);
      throw new Error(message, { cause: err });
    }
    for (const track of stream.getTracks())
      this.#adopt(track.kind === 'video' ? 'camera' : 'microphone', track);
    // Device labels are only readable after permission was granted, hence after getUserMedia.
    await this.#fillPickers();
  }

  async #switch(source: Source): Promise<void> {
    if (this.#stopped) return;
    const old = this.#tracks.get(source);
    // Release the old device first: some cameras can't be opened twice.
    old?.stop();
    try {
      const stream = await navigator.mediaDevices.getUserMedia(
        source === 'camera' ? { video: this.#constraints(source) } : { audio: this.#constraints(source) },
      );
      const track = source === 'camera' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
      if (track) this.#adopt(source, track);
    } catch (err) {
      const message = deviceErrorText(err);
      if (source === 'camera') this.#showPlaceholder(message);
      this.#events.problem(message);
    }
  }

  #adopt(source: Source, track: MediaStreamTrack): void {
    this.#tracks.set(source, track);
    if (source === 'camera') {
      // The preview shows the camera only; playing our own microphone back would echo.
      this.#els.video.srcObject = new MediaStream([track]);
    }
    track.addEventListener('ended', () => {
      if (this.#tracks.get(source) !== track || this.#stopped) return;
      const message = `${NOUN[source]} stopped. Reconnect it or choose another one above.`;
      if (source === 'camera') this.#showPlaceholder(message);
      this.#events.problem(message);
    });
    this.#events.track(source, track);
  }

  #constraints(source: Source): MediaTrackConstraints {
    const base = source === 'camera' ? CAMERA_CONSTRAINTS : MIC_CONSTRAINTS;
    const select = source === 'camera' ? this.#els.camera : this.#els.microphone;
    return select.value ? { ...base, deviceId: { exact: select.value } } : base;
  }

  async #fillPickers(): Promise<void> {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const source of ['camera', 'microphone'] as const) {
      const select = source === 'camera' ? this.#els.camera : this.#els.microphone;
      const current = this.#tracks.get(source)?.getSettings().deviceId ?? select.value;
      const options = devices
        .filter((d) => d.kind === KIND[source] && d.deviceId)
        .map((d, i) => el('option', { value: d.deviceId }, d.label || `${NOUN[source]} ${i + 1}`));
      if (options.length === 0) continue;
      select.replaceChildren(...options);
      if (current && options.some((o) => o.value === current)) select.value = current;
      select.disabled = false;
    }
  }

  #showPlaceholder(text: string): void {
    this.#els.placeholder.textContent = text;
    this.#els.placeholder.hidden = false;
  }
}

function deviceErrorText(err: unknown): string {
  const name = err instanceof DOMException ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera or microphone access was blocked. Allow it in the address bar, then choose a device again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. Connect one and choose it above.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is in use by another application. Close it and choose the device again.';
    default:
      return err instanceof Error ? err.message : 'Could not start the camera or microphone.';
  }
}
