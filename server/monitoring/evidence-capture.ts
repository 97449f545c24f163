import type { Database } from '../db/index.js';
import { storeEvidence, type EvidenceStore } from '../evidence/index.js';
import { pcmToWav, rgbToJpeg, type AudioRing } from './media-files.js';

/** Where evidence goes. */
export interface EvidenceTarget {
  db: Database;
  evidenceStore: EvidenceStore;
}

/** What of a watched session the capture reads: whose it is, its latest frame, its recent audio. */
export interface CaptureSource {
  session: { tenantId: string; sessionId: string };
  lastFrame: { width: number; height: number; data: Uint8Array } | undefined;
  audio: Pick<AudioRing, 'snapshot'>;
}

/** A JPEG of the latest sampled frame, stored as evidence (none before the first frame). */
export async function captureSnapshot(target: EvidenceTarget, source: CaptureSource): Promise<string[]> {
  const frame = source.lastFrame;
  return frame ? [await store(target, source, 'snapshot', 'image/jpeg', await rgbToJpeg(frame))] : [];
}

/** The last seconds of the microphone as a WAV, stored as evidence (none while silent of data). */
export async function captureAudioClip(target: EvidenceTarget, source: CaptureSource): Promise<string[]> {
  const samples = source.audio.snapshot();
  return samples.length > 0
    ? [await store(target, source, 'audio', 'audio/wav', pcmToWav(samples, 16_000))]
    : [];
}

async function store(
  target: EvidenceTarget,
  source: CaptureSource,
  kind: 'snapshot' | 'audio',
  mediaType: string,
  bytes: Buffer,
): Promise<string> {
  const row = await storeEvidence(target.db, target.evidenceStore, {
    tenantId: source.session.tenantId,
    sessionId: source.session.sessionId,
    kind,
    mediaType,
    bytes,
  });
  return row.id;
}
