import { describe, expect, it } from 'vitest';
import { LivenessChallenge, type ChallengeFrame } from '../../server/proctoring/liveness.js';

const frame = (at: number, patch: Partial<ChallengeFrame> = {}): ChallengeFrame => ({
  at,
  faces: 1,
  yaw: 0,
  eyesOpen: true,
  ...patch,
});
const blinkFirst = () => 0.1;
const turnFirst = () => 0.9;

describe('LivenessChallenge', () => {
  it('passes a blink (open → closed → open) then a head turn and back', () => {
    const challenge = new LivenessChallenge(0, undefined, blinkFirst);
    expect(challenge.prompt()).toMatchObject({ step: 'blink', deadline: new Date(8000).toISOString() });
    expect(challenge.feed(frame(100)).kind).toBe('pending');
    expect(challenge.feed(frame(200, { eyesOpen: false })).kind).toBe('pending');
    const next = challenge.feed(frame(300));
    expect(next).toMatchObject({ kind: 'next', prompt: { step: 'turn_head' } });
    expect(challenge.feed(frame(400, { yaw: -25 })).kind).toBe('pending');
    expect(challenge.feed(frame(500, { yaw: -3 }))).toEqual({
      kind: 'passed',
      steps: ['blink', 'turn_head'],
    });
    expect(challenge.finished).toBe(true);
  });

  it('does not count closed eyes alone, or a turn without coming back', () => {
    const challenge = new LivenessChallenge(0, undefined, turnFirst);
    expect(challenge.prompt().step).toBe('turn_head');
    for (let t = 100; t < 2000; t += 100) expect(challenge.feed(frame(t, { yaw: 30 })).kind).toBe('pending');
    expect(challenge.feed(frame(2100, { yaw: 2 })).kind).toBe('next');
    for (let t = 2200; t < 4000; t += 100)
      expect(challenge.feed(frame(t, { eyesOpen: false })).kind).toBe('pending');
  });

  it('fails a step that times out, whether frames keep coming or not', () => {
    const withFrames = new LivenessChallenge(0, undefined, blinkFirst);
    expect(withFrames.feed(frame(8001))).toEqual({ kind: 'failed', step: 'blink', reason: 'timeout' });
    const silent = new LivenessChallenge(0, undefined, blinkFirst);
    expect(silent.expire(7000).kind).toBe('pending');
    expect(silent.expire(9000)).toEqual({ kind: 'failed', step: 'blink', reason: 'timeout' });
  });

  it('fails when a second face appears during the challenge', () => {
    const challenge = new LivenessChallenge(0, undefined, blinkFirst);
    expect(challenge.feed(frame(100, { faces: 2 }))).toEqual({
      kind: 'failed',
      step: 'blink',
      reason: 'multiple_faces',
    });
  });
});
