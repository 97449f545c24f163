/**
 * Encoded frames from RTP: VP8 (RFC 7741) and H.264 (RFC 6184, packetization mode 1) video,
 * Opus (RFC 7587: one packet per RTP packet). A frame is the packets of one timestamp, closed
 * by the marker bit. A lost packet costs the frame it belonged to and every frame up to the next
 * keyframe (a decoder cannot use them), and is reported so the tap can ask for a keyframe.
 */
import { sequenceDelta, type RtpPacket } from './rtp.js';

export interface EncodedFrame {
  data: Buffer;
  /** RTP timestamp of the frame. */
  timestamp: number;
  keyframe: boolean;
}

export interface PushResult {
  frame?: EncodedFrame;
  /** Packets went missing before this one. */
  lost?: boolean;
}

export type VideoCodec = 'VP8' | 'H264';

const annexBStart = Buffer.from([0, 0, 0, 1]);

/** The VP8 data after the payload descriptor, and whether it starts a frame (S bit, partition 0). */
function vp8Payload(payload: Buffer): { start: boolean; data: Buffer } | undefined {
  const first = payload[0];
  if (first === undefined) return undefined;
  let offset = 1;
  if (first & 0x80) {
    const extension = payload[offset++] ?? 0;
    if (extension & 0x80) offset += (payload[offset] ?? 0) & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (extension & 0x40) offset += 1; // TL0PICIDX
    if (extension & 0x30) offset += 1; // TID / KEYIDX
  }
  if (offset >= payload.length) return undefined;
  return { start: (first & 0x10) !== 0 && (first & 0x07) === 0, data: payload.subarray(offset) };
}

/** NAL units of one H.264 RTP payload in Annex B form (single NAL, STAP-A, FU-A). */
function h264Payload(payload: Buffer): { start: boolean; data: Buffer } | undefined {
  const header = payload[0];
  if (header === undefined) return undefined;
  const type = header & 0x1f;
  if (type >= 1 && type <= 23) return { start: true, data: Buffer.concat([annexBStart, payload]) };
  if (type === 24) {
    const units: Buffer[] = [];
    for (let offset = 1; offset + 2 <= payload.length;) {
      const size = payload.readUInt16BE(offset);
      offset += 2;
      if (size === 0 || offset + size > payload.length) return undefined;
      units.push(annexBStart, payload.subarray(offset, offset + size));
      offset += size;
    }
    return units.length > 0 ? { start: true, data: Buffer.concat(units) } : undefined;
  }
  if (type === 28 && payload.length > 2) {
    const fuHeader = payload[1]!;
    const body = payload.subarray(2);
    if (fuHeader & 0x80) {
      const nalHeader = Buffer.from([(header & 0xe0) | (fuHeader & 0x1f)]);
      return { start: true, data: Buffer.concat([annexBStart, nalHeader, body]) };
    }
    return { start: false, data: body };
  }
  return undefined; // STAP-B, MTAP, FU-B: not in packetization mode 1
}

/** A VP8 keyframe has the P bit of its frame tag clear; an H.264 one carries an IDR slice (5). */
function isKeyframe(codec: VideoCodec, frame: Buffer): boolean {
  if (codec === 'VP8') return ((frame[0] ?? 1) & 0x01) === 0;
  for (let i = 0; i + 4 < frame.length; i++) {
    if (frame[i] === 0 && frame[i + 1] === 0 && frame[i + 2] === 0 && frame[i + 3] === 1) {
      if (((frame[i + 4] ?? 0) & 0x1f) === 5) return true;
    }
  }
  return false;
}

/** Width and height in a VP8 keyframe's header, for the IVF file header. */
export function vp8Dimensions(frame: Buffer): { width: number; height: number } | undefined {
  if (frame.length < 10 || frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  return { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff };
}

/** Whole video frames out of RTP packets, in order, from a keyframe on. */
export class VideoAssembler {
  readonly codec: VideoCodec;
  #expected: number | undefined;
  #parts: Buffer[] = [];
  #timestamp: number | undefined;
  /** The frame in progress lost a packet, or began without its start. */
  #broken = false;
  #waitForKeyframe = true;

  constructor(codec: VideoCodec) {
    this.codec = codec;
  }

  push(packet: RtpPacket): PushResult {
    let lost = false;
    if (this.#expected !== undefined) {
      const delta = sequenceDelta(this.#expected, packet.sequence);
      if (delta < 0) return {}; // late or duplicate: its frame has been handled
      if (delta > 0) {
        lost = true;
        this.#broken = true;
        this.#waitForKeyframe = true;
      }
    }
    this.#expected = (packet.sequence + 1) & 0xffff;

    const unpacked = this.codec === 'VP8' ? vp8Payload(packet.payload) : h264Payload(packet.payload);
    if (packet.timestamp !== this.#timestamp) {
      // A new frame: whatever the last one had without its marker is incomplete.
      this.#timestamp = packet.timestamp;
      this.#parts = [];
      // A gap just before a frame's first packet took the end of the last frame, not this one.
      this.#broken = !unpacked?.start;
    }
    if (unpacked) this.#parts.push(unpacked.data);
    else this.#broken = true;
    if (!packet.marker) return { lost };

    const parts = this.#parts;
    this.#parts = [];
    this.#timestamp = undefined;
    if (this.#broken || parts.length === 0) return { lost };
    const data = Buffer.concat(parts);
    const keyframe = isKeyframe(this.codec, data);
    if (this.#waitForKeyframe && !keyframe) return { lost };
    this.#waitForKeyframe = false;
    return { frame: { data, timestamp: packet.timestamp, keyframe }, lost };
  }
}

/** Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716, 3.1). */
export function opusSamples(packet: Buffer): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const config = toc >> 3;
  const frameMs =
    config < 12
      ? [10, 20, 40, 60][config % 4]!
      : config < 16
        ? [10, 20][config % 2]!
        : [2.5, 5, 10, 20][config % 4]!;
  const code = toc & 0x03;
  const frames = code === 0 ? 1 : code < 3 ? 2 : (packet[1] ?? 0) & 0x3f;
  return Math.round(frames * frameMs * 48);
}

/** Opus packets in order; a gap is reported (the decoder conceals it), nothing is held back. */
export class AudioAssembler {
  #expected: number | undefined;

  push(packet: RtpPacket): PushResult {
    let lost = false;
    if (this.#expected !== undefined) {
      const delta = sequenceDelta(this.#expected, packet.sequence);
      if (delta < 0) return {};
      lost = delta > 0;
    }
    this.#expected = (packet.sequence + 1) & 0xffff;
    return { frame: { data: packet.payload, timestamp: packet.timestamp, keyframe: true }, lost };
  }
}
