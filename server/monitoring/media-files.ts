import sharp from 'sharp';

/** A JPEG of one sampled RGB frame, for violation evidence. */
export function rgbToJpeg(frame: { width: number; height: number; data: Uint8Array }): Promise<Buffer> {
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .jpeg({ quality: 80, mozjpeg: false })
    .toBuffer();
}

/** A WAV file (16-bit PCM, mono) of the given samples, for audio evidence. */
export function pcmToWav(samples: Int16Array, sampleRate: number): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** The last `seconds` of a session's microphone, kept for audio evidence. */
export class AudioRing {
  readonly #chunks: Int16Array[] = [];
  #samples = 0;

  constructor(readonly capacitySamples: number) {}

  push(chunk: Int16Array): void {
    this.#chunks.push(chunk);
    this.#samples += chunk.length;
    while (this.#chunks.length > 1 && this.#samples - this.#chunks[0]!.length >= this.capacitySamples) {
      this.#samples -= this.#chunks.shift()!.length;
    }
  }

  snapshot(): Int16Array {
    const out = new Int16Array(this.#samples);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
