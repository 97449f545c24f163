/**
 * The two containers the tap writes to ffmpeg's stdin: IVF for video (VP8, or H.264 in Annex B
 * form) and Ogg for Opus. Both carry the RTP timestamps, which the sampler's frame selection and
 * ffmpeg's audio timing rely on, and every ffmpeg build since 2012 reads both from a pipe.
 */

/** IVF file header (32 bytes): fourcc, picture size, time base 1/clockRate. */
export function ivfHeader(fourcc: 'VP80' | 'H264', width: number, height: number, clockRate: number): Buffer {
  const header = Buffer.alloc(32);
  header.write('DKIF', 0, 'latin1');
  header.writeUInt16LE(0, 4); // version
  header.writeUInt16LE(32, 6); // header size
  header.write(fourcc, 8, 'latin1');
  header.writeUInt16LE(width, 12);
  header.writeUInt16LE(height, 14);
  header.writeUInt32LE(clockRate, 16); // time base denominator
  header.writeUInt32LE(1, 20); // time base numerator
  header.writeUInt32LE(0, 24); // frame count: unknown, a live stream
  return header;
}

/** One IVF frame: 12-byte header (size, 64-bit timestamp in the header's time base), then the data. */
export function ivfFrame(data: Buffer, pts: number): Buffer[] {
  const header = Buffer.alloc(12);
  header.writeUInt32LE(data.length, 0);
  header.writeBigUInt64LE(BigInt(Math.max(0, Math.round(pts))), 4);
  return [header, data];
}

/** CRC-32 as Ogg defines it: polynomial 0x04c11db7, not reflected, initial value 0. */
const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ crcTable[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

/**
 * An Ogg Opus stream (RFC 7845), one packet a page so ffmpeg gets each packet as it comes:
 * `OpusHead` and `OpusTags` pages first, then the audio with its granule position (48 kHz
 * samples since the first packet, at the packet's end).
 */
export class OggOpusWriter {
  readonly #serial: number;
  #pageSequence = 0;

  constructor(serial = 0x76696731) {
    this.#serial = serial;
  }

  /** The identification and comment headers; write them before any `packet`. */
  headers(channels: number): Buffer[] {
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'latin1');
    head.writeUInt8(1, 8); // version
    head.writeUInt8(channels, 9);
    head.writeUInt16LE(0, 10); // pre-skip: a live stream, nothing to trim
    head.writeUInt32LE(48_000, 12); // input sample rate (informational)
    head.writeInt16LE(0, 16); // output gain
    head.writeUInt8(0, 18); // channel mapping family 0: mono or stereo
    const vendor = Buffer.from('vigil', 'latin1');
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write('OpusTags', 0, 'latin1');
    tags.writeUInt32LE(vendor.length, 8);
    vendor.copy(tags, 12);
    tags.writeUInt32LE(0, 12 + vendor.length); // no user comments
    return [this.#page(head, 0n, 0x02), this.#page(tags, 0n, 0x00)];
  }

  /** One audio packet on a page of its own, `granule` samples into the stream at its end. */
  packet(data: Buffer, granule: number): Buffer {
    return this.#page(data, BigInt(Math.max(0, Math.round(granule))), 0x00);
  }

  #page(data: Buffer, granule: bigint, flags: number): Buffer {
    // Lacing: 255-byte segments, then the remainder (a 0 when the length divides by 255).
    const segments = Math.floor(data.length / 255) + 1;
    if (segments > 255) throw new Error(`an Ogg page holds at most 65,024 bytes, not ${data.length}`);
    const page = Buffer.alloc(27 + segments + data.length);
    page.write('OggS', 0, 'latin1');
    page.writeUInt8(0, 4); // version
    page.writeUInt8(flags, 5);
    page.writeBigUInt64LE(granule, 6);
    page.writeUInt32LE(this.#serial, 14);
    page.writeUInt32LE(this.#pageSequence++, 18);
    page.writeUInt32LE(0, 22); // CRC, filled in below
    page.writeUInt8(segments, 26);
    for (let i = 0; i < segments - 1; i++) page.writeUInt8(255, 27 + i);
    page.writeUInt8(data.length % 255, 27 + segments - 1);
    data.copy(page, 27 + segments);
    page.writeUInt32LE(oggCrc(page), 22);
    return page;
  }
}
