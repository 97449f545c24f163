/**
 * Active liveness: the candidate is asked to blink and to turn their head, in random order,
 * each within a deadline, while frames are sampled at CHALLENGE_FPS. A photo or a replayed
 * clip rarely does both on cue; Human's passive scores alone did not separate the spoof
 * samples, so this is the check that counts.
 */
export const livenessSteps = ['blink', 'turn_head'] as const;
export type LivenessStep = (typeof livenessSteps)[number];

const instructions: Record<LivenessStep, string> = {
  blink: 'Look at the camera and blink slowly twice.',
  turn_head: 'Turn your head to one side, then look back at the camera.',
};

/** What the challenge needs from one analysed frame. */
export interface ChallengeFrame {
  at: number;
  faces: number;
  /** Head yaw in degrees (sign: Human's; either side counts). */
  yaw: number | null;
  eyesOpen: boolean | null;
}

export interface ChallengePrompt {
  step: LivenessStep;
  instruction: string;
  deadline: string;
}

export type ChallengeOutcome =
  | { kind: 'pending' }
  | { kind: 'next'; prompt: ChallengePrompt }
  | { kind: 'passed'; steps: LivenessStep[] }
  | { kind: 'failed'; step: LivenessStep; reason: 'timeout' | 'no_face' | 'multiple_faces' };

export interface ChallengeTuning {
  stepMs: number;
  /** |yaw| that counts as turned away, and below which the face is back. */
  turnedDegrees: number;
  frontalDegrees: number;
}

export const defaultChallengeTuning: ChallengeTuning = {
  stepMs: 8000,
  turnedDegrees: 20,
  frontalDegrees: 10,
};

/** One run of the challenge; feed it frames in order, ask `expire()` on a timer. */
export class LivenessChallenge {
  readonly #steps: LivenessStep[];
  readonly #tuning: ChallengeTuning;
  #index = 0;
  #deadline: number;
  /** Step progress: blink sees open → closed → open; turn sees turned → frontal. */
  #phase = 0;
  #done = false;

  constructor(
    now: number,
    tuning: ChallengeTuning = defaultChallengeTuning,
    random: () => number = Math.random,
  ) {
    this.#steps = random() < 0.5 ? ['blink', 'turn_head'] : ['turn_head', 'blink'];
    this.#tuning = tuning;
    this.#deadline = now + tuning.stepMs;
  }

  get finished(): boolean {
    return this.#done;
  }

  prompt(): ChallengePrompt {
    const step = this.#steps[this.#index]!;
    return { step, instruction: instructions[step], deadline: new Date(this.#deadline).toISOString() };
  }

  feed(frame: ChallengeFrame): ChallengeOutcome {
    if (this.#done) return { kind: 'pending' };
    if (frame.at > this.#deadline) return this.#fail('timeout');
    // Another face in view during the challenge could be a helper doing the moves.
    if (frame.faces > 1) return this.#fail('multiple_faces');
    if (frame.faces === 0) return { kind: 'pending' };
    if (!this.#advance(this.#steps[this.#index]!, frame)) return { kind: 'pending' };
    this.#index += 1;
    this.#phase = 0;
    if (this.#index === this.#steps.length) {
      this.#done = true;
      return { kind: 'passed', steps: [...this.#steps] };
    }
    this.#deadline = frame.at + this.#tuning.stepMs;
    return { kind: 'next', prompt: this.prompt() };
  }

  /** Fails the challenge if the current step's deadline passed without frames to show it. */
  expire(now: number): ChallengeOutcome {
    if (this.#done || now <= this.#deadline) return { kind: 'pending' };
    return this.#fail('timeout');
  }

  #advance(step: LivenessStep, frame: ChallengeFrame): boolean {
    if (step === 'blink') {
      if (frame.eyesOpen === null) return false;
      if (this.#phase === 0 && frame.eyesOpen) this.#phase = 1;
      else if (this.#phase === 1 && !frame.eyesOpen) this.#phase = 2;
      else if (this.#phase === 2 && frame.eyesOpen) return true;
      return false;
    }
    if (frame.yaw === null) return false;
    const turned = Math.abs(frame.yaw);
    if (this.#phase === 0 && turned >= this.#tuning.turnedDegrees) this.#phase = 1;
    else if (this.#phase === 1 && turned <= this.#tuning.frontalDegrees) return true;
    return false;
  }

  #fail(reason: 'timeout' | 'no_face' | 'multiple_faces'): ChallengeOutcome {
    this.#done = true;
    return { kind: 'failed', step: this.#steps[this.#index]!, reason };
  }
}
