import { createHash } from 'node:crypto';
import type { Box, RgbImage } from './types.js';

/** Side of the square the face is resampled to before measuring sharpness, so faces of any size compare. */
const sharpnessSize = 96;
/** About this many pixels are sampled for the frame-wide luma statistics (plenty for a mean). */
const lumaSamples = 40_000;

const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

/** Mean and standard deviation of luma over the whole image, both 0..1. */
export function lumaStats(image: RgbImage): { mean: number; std: number } {
  const pixels = image.width * image.height;
  const step = Math.max(1, Math.floor(pixels / lumaSamples));
  let sum = 0;
  let sumSquares = 0;
  let count = 0;
  for (let p = 0; p < pixels; p += step) {
    const i = p * 3;
    const y = luma(image.data[i] ?? 0, image.data[i + 1] ?? 0, image.data[i + 2] ?? 0) / 255;
    sum += y;
    sumSquares += y * y;
    count += 1;
  }
  const mean = count ? sum / count : 0;
  return { mean, std: Math.sqrt(Math.max(0, sumSquares / Math.max(1, count) - mean * mean)) };
}

/** The box clipped to the image, in whole pixels; `null` if nothing of it is inside. */
function clip(image: RgbImage, box: Box): [x0: number, y0: number, x1: number, y1: number] | null {
  const x0 = Math.max(0, Math.floor(box[0]));
  const y0 = Math.max(0, Math.floor(box[1]));
  const x1 = Math.min(image.width, Math.ceil(box[0] + box[2]));
  const y1 = Math.min(image.height, Math.ceil(box[1] + box[3]));
  return x1 - x0 >= 2 && y1 - y0 >= 2 ? [x0, y0, x1, y1] : null;
}

/** Mean luma (0..1) inside a box. */
export function regionBrightness(image: RgbImage, box: Box): number | null {
  const region = clip(image, box);
  if (!region) return null;
  const [x0, y0, x1, y1] = region;
  const stepX = Math.max(1, Math.floor((x1 - x0) / 100));
  const stepY = Math.max(1, Math.floor((y1 - y0) / 100));
  let sum = 0;
  let count = 0;
  for (let y = y0; y < y1; y += stepY) {
    for (let x = x0; x < x1; x += stepX) {
      const i = (y * image.width + x) * 3;
      sum += luma(image.data[i] ?? 0, image.data[i + 1] ?? 0, image.data[i + 2] ?? 0);
      count += 1;
    }
  }
  return count ? sum / count / 255 : null;
}

/**
 * Variance of the 4-neighbour Laplacian of the box, area-resampled to a fixed square: the usual
 * focus measure. A face that is small in the frame is upsampled and so reads as blurry, which is
 * true for what the models see too.
 */
export function regionSharpness(image: RgbImage, box: Box): number | null {
  const region = clip(image, box);
  if (!region) return null;
  const [x0, y0, x1, y1] = region;
  const n = sharpnessSize;
  const gray = new Float32Array(n * n);
  const cellW = (x1 - x0) / n;
  const cellH = (y1 - y0) / n;
  for (let ty = 0; ty < n; ty++) {
    const sy0 = y0 + Math.floor(ty * cellH);
    const sy1 = Math.max(sy0 + 1, Math.min(y1, y0 + Math.floor((ty + 1) * cellH)));
    for (let tx = 0; tx < n; tx++) {
      const sx0 = x0 + Math.floor(tx * cellW);
      const sx1 = Math.max(sx0 + 1, Math.min(x1, x0 + Math.floor((tx + 1) * cellW)));
      let sum = 0;
      let count = 0;
      for (let y = sy0; y < sy1; y++) {
        for (let x = sx0; x < sx1; x++) {
          const i = (y * image.width + x) * 3;
          sum += luma(image.data[i] ?? 0, image.data[i + 1] ?? 0, image.data[i + 2] ?? 0);
          count += 1;
        }
      }
      gray[ty * n + tx] = sum / count;
    }
  }
  let sum = 0;
  let sumSquares = 0;
  let count = 0;
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const c = y * n + x;
      const value =
        (gray[c - 1] ?? 0) +
        (gray[c + 1] ?? 0) +
        (gray[c - n] ?? 0) +
        (gray[c + n] ?? 0) -
        4 * (gray[c] ?? 0);
      sum += value;
      sumSquares += value * value;
      count += 1;
    }
  }
  const mean = sum / count;
  return sumSquares / count - mean * mean;
}

/** A short hash of the pixels: identical frames (a frozen camera) give identical digests. */
export function pixelDigest(image: RgbImage): string {
  return createHash('sha1').update(image.data).digest('hex').slice(0, 20);
}
