/** The parts of an RTP packet (RFC 3550) the tap's depacketizers need. */
export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  payload: Buffer;
}

/**
 * Parses one datagram as RTP; undefined for anything else (RTCP on a muxed port, a runt, a
 * foreign version). CSRCs, a header extension and padding are skipped.
 */
export function parseRtp(data: Buffer): RtpPacket | undefined {
  if (data.length < 12 || data[0]! >> 6 !== 2) return undefined;
  const payloadType = data[1]! & 0x7f;
  // RTCP packet types 200-206 read as payload types 72-78 with the marker bit set.
  if (payloadType >= 72 && payloadType <= 78) return undefined;
  let offset = 12 + 4 * (data[0]! & 0x0f);
  if (data[0]! & 0x10) {
    if (data.length < offset + 4) return undefined;
    offset += 4 + 4 * data.readUInt16BE(offset + 2);
  }
  const end = data[0]! & 0x20 ? data.length - data[data.length - 1]! : data.length;
  if (offset >= end) return undefined;
  return {
    payloadType,
    marker: (data[1]! & 0x80) !== 0,
    sequence: data.readUInt16BE(2),
    timestamp: data.readUInt32BE(4),
    payload: data.subarray(offset, end),
  };
}

/** How far `sequence` is ahead of `previous` in 16-bit sequence space (negative: behind). */
export function sequenceDelta(previous: number, sequence: number): number {
  const delta = (sequence - previous) & 0xffff;
  return delta >= 0x8000 ? delta - 0x10000 : delta;
}

/** RTP timestamps as a steadily growing number (32-bit wrap-around undone). */
export class TimestampUnwrapper {
  #last: number | undefined;
  #value = 0;

  unwrap(timestamp: number): number {
    if (this.#last === undefined) {
      this.#value = timestamp;
    } else {
      const delta = (timestamp - this.#last) | 0; // signed 32-bit difference
      this.#value += delta;
    }
    this.#last = timestamp;
    return this.#value;
  }
}
