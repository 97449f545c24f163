import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ivfFrame, ivfHeader, oggCrc, OggOpusWriter } from '../../server/sampler/containers.js';
import {
  AudioAssembler,
  opusSamples,
  VideoAssembler,
  vp8Dimensions,
} from '../../server/sampler/depacketize.js';
import { RtpRelay } from '../../server/sampler/rtp-relay.js';
import { parseRtp, sequenceDelta, TimestampUnwrapper, type RtpPacket } from '../../server/sampler/rtp.js';

/** An RTP datagram: version 2, optional CSRCs, header extension and padding. */
function rtp(options: {
  sequence: number;
  timestamp: number;
  marker?: boolean;
  payloadType?: number;
  payload: Buffer;
  csrcs?: number;
  extensionWords?: number;
  padding?: number;
}): Buffer {
  const csrcs = options.csrcs ?? 0;
  const extension = options.extensionWords;
  const header = Buffer.alloc(12 + 4 * csrcs + (extension === undefined ? 0 : 4 + 4 * extension));
  header[0] = 0x80 | (options.padding ? 0x20 : 0) | (extension === undefined ? 0 : 0x10) | csrcs;
  header[1] = (options.marker ? 0x80 : 0) | (options.payloadType ?? 96);
  header.writeUInt16BE(options.sequence, 2);
  header.writeUInt32BE(options.timestamp >>> 0, 4);
  header.writeUInt32BE(0x1234, 8);
  if (extension !== undefined) header.writeUInt16BE(extension, 12 + 4 * csrcs + 2);
  const padding = options.padding ? Buffer.alloc(options.padding, 0) : Buffer.alloc(0);
  if (options.padding) padding[options.padding - 1] = options.padding;
  return Buffer.concat([header, options.payload, padding]);
}

const packet = (options: Parameters<typeof rtp>[0]): RtpPacket => parseRtp(rtp(options))!;

/** A VP8 keyframe's first bytes: frame tag (P bit clear), start code, 640x480. */
function vp8Keyframe(extra = 20): Buffer {
  const frame = Buffer.alloc(10 + extra, 0xab);
  frame[0] = 0x10; // P = 0: keyframe
  frame[1] = 0x02;
  frame[2] = 0x00;
  frame[3] = 0x9d;
  frame[4] = 0x01;
  frame[5] = 0x2a;
  frame.writeUInt16LE(640, 6);
  frame.writeUInt16LE(480, 8);
  return frame;
}

/** VP8 payload descriptor with a 15-bit PictureID (as browsers and ffmpeg send it). */
function vp8Packet(start: boolean, body: Buffer, pictureId = 300): Buffer {
  const descriptor = Buffer.from([
    0x80 | (start ? 0x10 : 0),
    0x80,
    0x80 | (pictureId >> 8),
    pictureId & 0xff,
  ]);
  return Buffer.concat([descriptor, body]);
}

describe('RTP parsing', () => {
  it('finds the payload past CSRCs, a header extension and padding; ignores RTCP and runts', () => {
    const parsed = parseRtp(
      rtp({
        sequence: 7,
        timestamp: 90,
        marker: true,
        payload: Buffer.from('abc'),
        csrcs: 2,
        extensionWords: 1,
        padding: 3,
      }),
    );
    expect(parsed).toMatchObject({ sequence: 7, timestamp: 90, marker: true, payloadType: 96 });
    expect(parsed?.payload.toString()).toBe('abc');
    const receiverReport = Buffer.from([0x81, 201, 0, 7, ...Buffer.alloc(28)]);
    expect(parseRtp(receiverReport)).toBeUndefined();
    expect(parseRtp(Buffer.from([0x80, 96, 0]))).toBeUndefined();
  });

  it('counts sequence numbers and timestamps across their wrap-around', () => {
    expect(sequenceDelta(65535, 0)).toBe(1);
    expect(sequenceDelta(0, 65535)).toBe(-1);
    const unwrapper = new TimestampUnwrapper();
    expect(unwrapper.unwrap(0xffffff00)).toBe(0xffffff00);
    expect(unwrapper.unwrap(0x00000100)).toBe(0xffffff00 + 0x200);
  });
});

describe('VP8 frames from RTP', () => {
  it('joins the packets of one timestamp into a frame at the marker, from a keyframe on', () => {
    const assembler = new VideoAssembler('VP8');
    const key = vp8Keyframe(40);
    expect(
      assembler.push(packet({ sequence: 1, timestamp: 1000, payload: vp8Packet(true, key.subarray(0, 25)) })),
    ).toEqual({ lost: false });
    const done = assembler.push(
      packet({ sequence: 2, timestamp: 1000, marker: true, payload: vp8Packet(false, key.subarray(25)) }),
    );
    expect(done.frame?.keyframe).toBe(true);
    expect(done.frame?.data.equals(key)).toBe(true);
    expect(vp8Dimensions(done.frame!.data)).toEqual({ width: 640, height: 480 });

    const delta = Buffer.from([0x11, 1, 2, 3]); // P bit set: an inter frame
    const next = assembler.push(
      packet({ sequence: 3, timestamp: 4000, marker: true, payload: vp8Packet(true, delta) }),
    );
    expect(next.frame).toMatchObject({ keyframe: false, timestamp: 4000 });
  });

  it('drops inter frames before the first keyframe', () => {
    const assembler = new VideoAssembler('VP8');
    const delta = Buffer.from([0x11, 1, 2, 3]);
    expect(
      assembler.push(packet({ sequence: 9, timestamp: 10, marker: true, payload: vp8Packet(true, delta) }))
        .frame,
    ).toBeUndefined();
  });

  it('reports a lost packet, drops its frame and what follows until a keyframe', () => {
    const assembler = new VideoAssembler('VP8');
    const key = vp8Keyframe();
    expect(
      assembler.push(packet({ sequence: 1, timestamp: 0, marker: true, payload: vp8Packet(true, key) }))
        .frame,
    ).toBeDefined();
    const delta = Buffer.from([0x11, 9, 9, 9, 9]);
    // Frame at 3000: its second packet (sequence 3) never comes.
    assembler.push(packet({ sequence: 2, timestamp: 3000, payload: vp8Packet(true, delta.subarray(0, 2)) }));
    const broken = assembler.push(
      packet({ sequence: 4, timestamp: 3000, marker: true, payload: vp8Packet(false, delta.subarray(2)) }),
    );
    expect(broken).toEqual({ lost: true });
    // A whole inter frame after the loss still cannot be decoded.
    expect(
      assembler.push(packet({ sequence: 5, timestamp: 6000, marker: true, payload: vp8Packet(true, delta) }))
        .frame,
    ).toBeUndefined();
    const recovered = assembler.push(
      packet({ sequence: 6, timestamp: 9000, marker: true, payload: vp8Packet(true, key) }),
    );
    expect(recovered.frame?.keyframe).toBe(true);
  });

  it('ignores late and duplicate packets', () => {
    const assembler = new VideoAssembler('VP8');
    const key = vp8Keyframe();
    assembler.push(packet({ sequence: 10, timestamp: 0, marker: true, payload: vp8Packet(true, key) }));
    expect(
      assembler.push(packet({ sequence: 10, timestamp: 0, marker: true, payload: vp8Packet(true, key) })),
    ).toEqual({});
    expect(
      assembler.push(packet({ sequence: 11, timestamp: 3000, marker: true, payload: vp8Packet(true, key) }))
        .frame,
    ).toBeDefined();
  });
});

describe('H.264 frames from RTP (packetization mode 1)', () => {
  it('turns single NAL units, STAP-A and FU-A into one Annex B access unit', () => {
    const assembler = new VideoAssembler('H264');
    const sps = Buffer.from([0x67, 1, 2]);
    const pps = Buffer.from([0x68, 3]);
    const stapA = Buffer.concat([Buffer.from([0x78, 0, sps.length]), sps, Buffer.from([0, pps.length]), pps]);
    const idr = Buffer.from([0x65, 10, 11, 12, 13]);
    const fuIndicator = (idr[0]! & 0xe0) | 28;
    const first = Buffer.from([fuIndicator, 0x80 | 5, 10, 11]);
    const last = Buffer.from([fuIndicator, 0x40 | 5, 12, 13]);
    assembler.push(packet({ sequence: 1, timestamp: 0, payload: stapA }));
    assembler.push(packet({ sequence: 2, timestamp: 0, payload: first }));
    const { frame } = assembler.push(packet({ sequence: 3, timestamp: 0, marker: true, payload: last }));
    const start = [0, 0, 0, 1];
    expect(frame?.keyframe).toBe(true);
    expect([...frame!.data]).toEqual([...start, ...sps, ...start, ...pps, ...start, ...idr]);
  });
});

describe('Opus packets from RTP', () => {
  it('passes every packet on and reports gaps', () => {
    const assembler = new AudioAssembler();
    expect(
      assembler.push(packet({ sequence: 1, timestamp: 0, payloadType: 111, payload: Buffer.from([0xfc, 1]) }))
        .frame,
    ).toBeDefined();
    expect(
      assembler.push(
        packet({ sequence: 3, timestamp: 1920, payloadType: 111, payload: Buffer.from([0xfc, 1]) }),
      ).lost,
    ).toBe(true);
  });

  it('reads a packet duration from its TOC byte', () => {
    expect(opusSamples(Buffer.from([0xfc]))).toBe(960); // CELT FB 20 ms, one frame
    expect(opusSamples(Buffer.from([0x78 | 1]))).toBe(1920); // hybrid 20 ms, two frames
    expect(opusSamples(Buffer.from([0x1b, 0x03]))).toBe(3 * 2880); // SILK 60 ms, code 3, three frames
  });
});

describe('containers for ffmpeg', () => {
  it('writes the IVF header and frame headers ffmpeg reads', () => {
    const header = ivfHeader('VP80', 640, 480, 90_000);
    expect(header.length).toBe(32);
    expect(header.subarray(0, 4).toString()).toBe('DKIF');
    expect(header.subarray(8, 12).toString()).toBe('VP80');
    expect([
      header.readUInt16LE(12),
      header.readUInt16LE(14),
      header.readUInt32LE(16),
      header.readUInt32LE(20),
    ]).toEqual([640, 480, 90_000, 1]);
    const [frameHeader, data] = ivfFrame(Buffer.from([1, 2, 3]), 3000);
    expect(frameHeader!.readUInt32LE(0)).toBe(3);
    expect(frameHeader!.readBigUInt64LE(4)).toBe(3000n);
    expect([...data!]).toEqual([1, 2, 3]);
  });

  it('writes Ogg pages with valid lacing and CRC, OpusHead first', () => {
    const writer = new OggOpusWriter(7);
    const [head, tags] = writer.headers(2);
    expect(head!.subarray(0, 4).toString()).toBe('OggS');
    expect(head![5]).toBe(0x02); // beginning of stream
    expect(head!.subarray(28, 36).toString()).toBe('OpusHead');
    expect(tags!.subarray(28, 36).toString()).toBe('OpusTags');
    const body = Buffer.alloc(510, 7); // exactly two 255-byte segments, then a 0
    const page = writer.packet(body, 960);
    expect(page.readBigUInt64LE(6)).toBe(960n);
    expect(page.readUInt32LE(18)).toBe(2); // third page of the stream
    expect([...page.subarray(26, 30)]).toEqual([3, 255, 255, 0]);
    // The stored CRC is the page's CRC computed with that field zeroed.
    const zeroed = Buffer.from(page);
    zeroed.writeUInt32LE(0, 22);
    expect(page.readUInt32LE(22)).toBe(oggCrc(zeroed));
    // The CRC itself, against a known value: Ogg's CRC-32 (poly 0x04c11db7, init 0) of "123456789".
    expect(oggCrc(Buffer.from('123456789'))).toBe(0x89a1897f); // CRC-32/CKSUM check 0x765e7680 without its final xor
  });
});

/** A decoder's stdin stand-in: keeps every byte and counts the write calls that reached it. */
function recordingSink(): {
  sink: Writable;
  bytes: () => Buffer;
  writes: () => number;
  finished: Promise<void>;
} {
  const chunks: Buffer[] = [];
  let writes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes += 1;
      chunks.push(chunk);
      done();
    },
    writev(entries, done) {
      writes += 1;
      for (const entry of entries) chunks.push(entry.chunk as Buffer);
      done();
    },
  });
  const finished = new Promise<void>((resolve) => sink.once('finish', () => resolve()));
  return { sink, bytes: () => Buffer.concat(chunks), writes: () => writes, finished };
}

/** Ogg pages in a byte run: each page's granule position, in order. */
function oggGranules(bytes: Buffer): bigint[] {
  const granules: bigint[] = [];
  let offset = 0;
  while (offset + 27 <= bytes.length) {
    expect(bytes.toString('latin1', offset, offset + 4)).toBe('OggS');
    const segments = bytes[offset + 26] ?? 0;
    let body = 0;
    for (let i = 0; i < segments; i++) body += bytes[offset + 27 + i] ?? 0;
    granules.push(bytes.readBigUInt64LE(offset + 6));
    offset += 27 + segments + body;
  }
  expect(offset).toBe(bytes.length);
  return granules;
}

describe('the relay to the decoder (real UDP on loopback)', () => {
  async function sendOpus(port: number, count: number): Promise<void> {
    const client = dgram.createSocket('udp4');
    try {
      for (let i = 0; i < count; i++) {
        // TOC 0xfc: one 20 ms CELT frame (960 samples at 48 kHz).
        const datagram = rtp({
          sequence: i,
          timestamp: i * 960,
          payloadType: 111,
          payload: Buffer.from([0xfc, i]),
        });
        await new Promise<void>((resolve, reject) =>
          client.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
        );
      }
    } finally {
      client.close();
    }
  }

  it('gathers a burst of packets into a few writes, in order, nothing lost', async () => {
    const relay = await RtpRelay.open('127.0.0.1', 'opus', 48_000);
    const { sink, bytes, writes } = recordingSink();
    relay.attach(sink);
    try {
      await sendOpus(relay.port, 20);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const granules = oggGranules(bytes());
      // OpusHead and OpusTags, then the 20 packets, each ending 960 samples after the last.
      expect(granules).toHaveLength(22);
      expect(granules.slice(2)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt((i + 1) * 960)));
      // One write per packet before; a burst sent within milliseconds now leaves in a few.
      expect(writes()).toBeLessThanOrEqual(3);
    } finally {
      relay.close();
    }
  });

  it('hands what it gathered to the decoder when it closes', async () => {
    const relay = await RtpRelay.open('127.0.0.1', 'opus', 48_000);
    const { sink, bytes, writes, finished } = recordingSink();
    relay.attach(sink);
    await sendOpus(relay.port, 5);
    // Wait until packets are held in the gathering window (corked, not yet written)…
    const deadline = Date.now() + 2000;
    while (sink.writableLength === 0 && Date.now() < deadline) await new Promise(setImmediate);
    const held = sink.writableLength;
    expect(held).toBeGreaterThan(0);
    expect(writes()).toBe(0);
    // …then close: what was held must still reach the decoder, in order.
    relay.close();
    await finished;
    expect(bytes().length).toBeGreaterThanOrEqual(held);
    const granules = oggGranules(bytes());
    expect(granules.length).toBeGreaterThanOrEqual(3);
    expect(granules.slice(2)).toEqual(
      Array.from({ length: granules.length - 2 }, (_, i) => BigInt((i + 1) * 960)),
    );
  });
});
