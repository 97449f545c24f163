/**
 * Decoding uploaded photos (reference, `/verify`) with sharp (libvips, prebuilt per platform):
 * JPEG and PNG only, EXIF orientation applied (phone JPEGs are often stored sideways), large
 * images scaled down before they reach a worker.
 */
import sharp from 'sharp';
import { AppError } from '../shared/index.js';
import type { RgbImage } from './types.js';

export interface DecodeOptions {
  /** Refuse images with more pixels than this before decoding them (decompression bombs). */
  maxPixels?: number;
  /** Longest side after decoding; larger photos are scaled down (the detectors work below this). */
  maxSide?: number;
}

const defaults = { maxPixels: 50_000_000, maxSide: 1920 };

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? defaults.maxPixels;
  const maxSide = options.maxSide ?? defaults.maxSide;
  let format: string | undefined;
  try {
    format = (await sharp(bytes, { limitInputPixels: false }).metadata()).format;
  } catch {
    throw new AppError('unsupported_media_type', 'the image could not be read; send a JPEG or PNG photo');
  }
  if (format !== 'jpeg' && format !== 'png') {
    throw new AppError(
      'unsupported_media_type',
      `${format ?? 'this'} images are not supported; send a JPEG or PNG photo`,
    );
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (error) {
    if (error instanceof Error && /pixel limit/i.test(error.message)) {
      throw new AppError('payload_too_large', `the image has more than ${maxPixels} pixels`);
    }
    throw new AppError(
      'unsupported_media_type',
      'the image could not be decoded; send an intact JPEG or PNG photo',
    );
  }
}
