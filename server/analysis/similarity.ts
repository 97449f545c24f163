/**
 * Identity scores. face-api's descriptors are compared by euclidean distance (same person below
 * about 0.6); Vigil reports a similarity in 0..1 instead, mapped so that face-api's 0.6 lands on
 * 0.5, the default `identity.matchThreshold` of an exam policy.
 */

/** Distance at which similarity reaches 0; 0.6 → 0.5. */
const zeroSimilarityDistance = 1.2;

export function faceDistance(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(`face descriptors differ in length (${a.length} vs ${b.length})`);
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    sum += d * d;
  }
  return Math.sqrt(sum);
}

export function distanceToSimilarity(distance: number): number {
  return Math.min(1, Math.max(0, 1 - distance / zeroSimilarityDistance));
}

/** 1 for the same descriptor, 0.5 at face-api's same-person boundary, 0 for very different faces. */
export function similarity(a: readonly number[], b: readonly number[]): number {
  return distanceToSimilarity(faceDistance(a, b));
}
