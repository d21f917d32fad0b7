/**
 * A FIFO of received buffers read from the front without copying when possible: parsers of
 * streamed xorb bytes keep only the bytes of the chunk they are waiting for.
 */
export class ByteQueue {
  private bufs: Buffer[] = []
  private idx = 0 // index of the first live buffer (no O(n) shift per take)
  private head = 0 // consumed bytes of bufs[idx]
  private scratch = Buffer.allocUnsafeSlow(0)
  /** Bytes queued. */
  length = 0
  /** Bytes taken so far (the stream offset of the first queued byte). */
  consumed = 0

  push(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return
    this.bufs.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    this.length += bytes.byteLength
  }

  /** The first queued byte (undefined when empty). */
  first(): number | undefined {
    return this.bufs[this.idx]?.[this.head]
  }

  // Where the last `at`/`peek` with an offset ended: buffer index and the stream offset of its first
  // byte, so a parser that looks further and further ahead (before taking) does not rescan from
  // the front every time (tiny pieces would make that quadratic).
  private hintIdx = 0
  private hintPos = 0

  /** Index into bufs of the buffer holding queued byte `offset`, and where it starts in that buffer. */
  private locate(offset: number): [number, number] {
    const pos = this.consumed + offset // stream offset
    if (this.hintIdx < this.idx || this.hintIdx >= this.bufs.length || pos < this.hintPos) {
      this.hintIdx = this.idx
      this.hintPos = this.consumed - this.head
    }
    let i = this.hintIdx
    let start = this.hintPos
    while (pos - start >= this.bufs[i]!.length) {
      start += this.bufs[i]!.length
      i++
    }
    this.hintIdx = i
    this.hintPos = start
    return [i, pos - start]
  }

  /** The queued byte `offset` bytes after the first (undefined past the end). */
  at(offset: number): number | undefined {
    if (offset < 0 || offset >= this.length) return undefined
    const [i, o] = this.locate(offset)
    return this.bufs[i]![o]
  }

  /**
   * Copies `dst.length` queued bytes, starting `offset` bytes after the first, into dst without
   * consuming them (caller checks length).
   */
  peek(dst: Buffer, offset = 0): void {
    let [i, from] = offset === 0 ? [this.idx, this.head] : this.locate(offset)
    let filled = 0
    for (; filled < dst.length; i++, from = 0) {
      const b = this.bufs[i]!
      filled += b.copy(dst, filled, from, Math.min(b.length, from + dst.length - filled))
    }
  }

  /**
   * Removes and returns the first n queued bytes: a view when they lie in one buffer, else a copy.
   * With `transient`, that copy goes to a buffer the queue reuses, so the result is only valid
   * until the next `take` (for bytes that are decoded and dropped at once).
   */
  take(n: number, transient = false): Buffer {
    const first = this.bufs[this.idx]
    let out: Buffer
    if (first && first.length - this.head >= n) {
      out = first.subarray(this.head, this.head + n)
      this.head += n
      if (this.head === first.length) this.drop()
    } else {
      // @NOTE a chunk that spans received pieces is common (64 KiB socket reads, chunks up to
      // 128 KiB + header); a fresh buffer per chunk costs more in first-touch page faults than the copy.
      if (transient) {
        if (this.scratch.length < n) this.scratch = Buffer.allocUnsafeSlow(Math.max(n, 2 * this.scratch.length, 1 << 16))
        out = this.scratch.subarray(0, n)
      } else {
        out = Buffer.allocUnsafe(n)
      }
      let filled = 0
      while (filled < n) {
        const b = this.bufs[this.idx]!
        const copied = b.copy(out, filled, this.head, Math.min(b.length, this.head + n - filled))
        filled += copied
        this.head += copied
        if (this.head === b.length) this.drop()
      }
    }
    this.length -= n
    this.consumed += n
    return out
  }

  private drop(): void {
    this.head = 0
    this.idx++
    if (this.idx === this.bufs.length) {
      this.bufs = []
      this.idx = 0
      this.hintIdx = -1 // recomputed on next use
    } else if (this.idx >= 1024 && this.idx * 2 >= this.bufs.length) {
      this.bufs = this.bufs.slice(this.idx)
      this.hintIdx = this.hintIdx >= this.idx ? this.hintIdx - this.idx : -1
      this.idx = 0
    }
  }
}
