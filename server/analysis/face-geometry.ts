/**
 * Geometry on Human's 478-point face mesh (MediaPipe FaceMesh indices, 468-477 are the irises):
 * the crop face-api's recognition net expects, eye openness and eye-in-head gaze.
 */

export type Point = readonly [x: number, y: number, z?: number];

/** Eye contours (upper + lower lid) and the outer lips, by MediaPipe index. */
const eyeOnImageLeft = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173];
const eyeOnImageRight = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398];
const outerLips = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409];
/** `[upper lid, lower lid, corner, corner]` per eye, as in testdata/human/observed_human336.json. */
const lidsLeft = [159, 145, 33, 133] as const;
const lidsRight = [386, 374, 362, 263] as const;
const irisA = [468, 469, 470, 471, 472];
const irisB = [473, 474, 475, 476, 477];

/** Eye width is about 2.5× the radius of the eyeball, so an iris offset of 0.4 eye widths is ~90°. */
const eyeWidthOverRadius = 2.5;

const degrees = (radians: number) => (radians * 180) / Math.PI;
const distance = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

function mean(mesh: readonly Point[], indices: readonly number[]): Point | null {
  let x = 0;
  let y = 0;
  for (const index of indices) {
    const point = mesh[index];
    if (!point) return null;
    x += point[0];
    y += point[1];
  }
  return [x / indices.length, y / indices.length];
}

export interface AlignedCrop {
  /** Square crop, pixels: the rectangle face-api's `FaceLandmarks.align()` takes from 68 landmarks. */
  x: number;
  y: number;
  size: number;
  /** Angle of the line between the eyes, radians (0 = level). */
  roll: number;
}

/**
 * face-api aligns a face for its recognition net from the eye and mouth centres: a square of side
 * (eye-to-mouth distance / 0.45), centred between them with the eyes at 43% of its height. The
 * same rectangle from Human's mesh lets the per-frame path skip face-api's own detector and
 * landmark nets (the slow part) while feeding the recognition net the framing it was built for.
 */
export function alignedCrop(mesh: readonly Point[]): AlignedCrop | null {
  const left = mean(mesh, eyeOnImageLeft);
  const right = mean(mesh, eyeOnImageRight);
  const mouth = mean(mesh, outerLips);
  if (!left || !right || !mouth) return null;
  const size = (distance(mouth, left) + distance(mouth, right)) / 2 / 0.45;
  if (!(size > 4)) return null;
  const cx = (left[0] + right[0] + mouth[0]) / 3;
  const cy = (left[1] + right[1] + mouth[1]) / 3;
  return {
    x: cx - 0.5 * size,
    y: cy - 0.43 * size,
    size,
    roll: Math.atan2(right[1] - left[1], right[0] - left[0]),
  };
}

function openness(mesh: readonly Point[], [upper, lower, a, b]: readonly [number, number, number, number]) {
  const [pu, pl, pa, pb] = [mesh[upper], mesh[lower], mesh[a], mesh[b]];
  if (!pu || !pl || !pa || !pb) return null;
  const width = distance(pa, pb);
  return width > 0 ? distance(pu, pl) / width : null;
}

/** Mean corner-to-corner width of the two eyes, pixels. */
export function eyeWidth(mesh: readonly Point[]): number {
  const [a, b, c, d] = [mesh[lidsLeft[2]], mesh[lidsLeft[3]], mesh[lidsRight[2]], mesh[lidsRight[3]]];
  return a && b && c && d ? (distance(a, b) + distance(c, d)) / 2 : 0;
}

/** Eyelid gap over eye width for `[the eye on the image's left, the eye on the image's right]`. */
export function eyeOpenness(mesh: readonly Point[]): [number, number] | null {
  const left = openness(mesh, lidsLeft);
  const right = openness(mesh, lidsRight);
  return left === null || right === null ? null : [left, right];
}

/**
 * Where the eyes point relative to the head, in degrees: each iris centre is projected on its
 * eye's corner-to-corner axis (so head roll does not leak in), and the offset from the middle,
 * in eye widths, is turned into an eyeball rotation. Signed like Human's head yaw (negative:
 * towards the image's right), so head and eyes add up; pitch positive is downwards in the image.
 *
 * Human 3.3.6 places the iris of the eye on the image's left mirrored within its eye: on
 * testdata/human (stock-emotions-a-7, person-lexi, checked by eye) that iris sits on the wrong
 * side of the eye while the other is right, and mirroring it makes the two eyes agree on every
 * frontal sample. So that eye's offset is mirrored back before the two are averaged.
 */
export function eyeGaze(mesh: readonly Point[]): { yaw: number; pitch: number } | null {
  if (mesh.length < 478) return null;
  const eyes = [
    { corners: [33, 133] as const, centre: mean(mesh, eyeOnImageLeft), mirrored: true },
    { corners: [362, 263] as const, centre: mean(mesh, eyeOnImageRight), mirrored: false },
  ];
  const irises = [mean(mesh, irisA), mean(mesh, irisB)].filter((point): point is Point => point !== null);
  const offsets: { along: number; across: number }[] = [];
  for (const eye of eyes) {
    const a = mesh[eye.corners[0]];
    const b = mesh[eye.corners[1]];
    const eyeCentre = eye.centre;
    if (!a || !b || !eyeCentre) continue;
    // Pair each eye with the nearer iris: Human's left/right iris naming is not the image's.
    const iris = [...irises].sort((p, q) => distance(p, eyeCentre) - distance(q, eyeCentre))[0];
    if (!iris) continue;
    // The corner on the image's left first, so the axis points to the image's right.
    const [from, to] = a[0] <= b[0] ? [a, b] : [b, a];
    const ax = to[0] - from[0];
    const ay = to[1] - from[1];
    const width2 = ax * ax + ay * ay;
    if (width2 <= 0) continue;
    const along = ((iris[0] - from[0]) * ax + (iris[1] - from[1]) * ay) / width2 - 0.5;
    offsets.push({
      along: eye.mirrored ? -along : along,
      across: ((iris[1] - from[1]) * ax - (iris[0] - from[0]) * ay) / width2,
    });
  }
  const [first, second] = offsets;
  if (!first) return null;
  const along = second ? (first.along + second.along) / 2 : first.along;
  const across = second ? (first.across + second.across) / 2 : first.across;
  const angle = (offset: number) =>
    degrees(Math.asin(Math.max(-1, Math.min(1, offset * eyeWidthOverRadius))));
  return { yaw: -angle(along), pitch: angle(across) };
}
