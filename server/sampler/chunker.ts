/**
 * Cuts a byte stream (ffmpeg's stdout) into chunks of exactly `size` bytes: whole RGB frames,
 * or PCM chunks. Each chunk owns a fresh ArrayBuffer at offset 0, so consumers may keep it,
 * transfer it to a worker thread, or view it as Int16Array without copying or alignment
 * surprises.
 */
export class FixedChunker {
  readonly size: number;
  #current: Buffer;
  #filled = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0) throw new Error(`bad chunk size ${size}`);
    this.size = size;
    this.#current = FixedChunker.#fresh(size);
  }

  push(data: Buffer, emit: (chunk: Buffer) => void): void {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(this.size - this.#filled, data.length - offset);
      data.copy(this.#current, this.#filled, offset, offset + take);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.size) {
        const full = this.#current;
        this.#current = FixedChunker.#fresh(this.size);
        this.#filled = 0;
        emit(full);
      }
    }
  }

  /** Unpooled (own ArrayBuffer, offset 0) and not zero-filled: every byte is copied over. */
  static #fresh(size: number): Buffer {
    return Buffer.allocUnsafeSlow(size);
  }
}
