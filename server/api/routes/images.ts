import { AppError } from '../../shared/index.js';

const dataUrl = /^data:(image\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i;

/**
 * The image of a request: a raw `image/jpeg` / `image/png` body, or JSON `{image}` holding a
 * data URL (or bare base64). Anything else is a 415; the decoder checks the bytes themselves.
 */
export function imageBytes(body: unknown, contentType: string | undefined): Buffer {
  if (Buffer.isBuffer(body)) return body;
  const image = typeof body === 'object' && body !== null ? (body as { image?: unknown }).image : undefined;
  if (typeof image !== 'string' || image.length === 0) {
    throw new AppError(
      contentType?.startsWith('application/json') ? 'invalid_input' : 'unsupported_media_type',
      'send a JPEG or PNG body, or JSON {"image": "data:image/jpeg;base64,…"}',
    );
  }
  const match = dataUrl.exec(image);
  if (match) {
    const mediaType = match[1]!.toLowerCase();
    if (mediaType !== 'image/jpeg' && mediaType !== 'image/png') {
      throw new AppError('unsupported_media_type', `${mediaType} is not supported; send a JPEG or PNG photo`);
    }
    return Buffer.from(match[2]!, 'base64');
  }
  if (/^[A-Za-z0-9+/=\s]+$/.test(image)) return Buffer.from(image, 'base64');
  throw new AppError('invalid_input', 'image must be a data URL or base64');
}
