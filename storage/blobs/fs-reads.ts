import fs from 'node:fs'
import type fsp from 'node:fs/promises'
import { Readable, type Writable } from 'node:stream'
import type { RecyclingReadable } from './blob-driver.js'
import type { BlobRange } from './blob-range.js'
import type { ByteRange } from './blob-store.js'

/** Bytes per read. */
const CHUNK = 1024 * 1024

/** Buffers a download reads into; each is reused once the socket has taken its bytes. */
const SEND_BUFFERS = 3
const sendPool: Buffer[] = []

/**
 * Download hot path (bench/README.md): a ReadStream allocates a fresh 1 MiB buffer per read, and
 * that external memory churn drives V8 into frequent GCs (plus first-touch page faults on these
 * VMs). Here the file is read into a few pooled buffers, each written to the response and
 * reused when its write callback says the socket no longer needs it.
 */
export class FileRange implements BlobRange {
  constructor(
    private readonly handle: fsp.FileHandle,
    private readonly range: ByteRange,
  ) {}

  close(): Promise<void> {
    return this.handle.close()
  }

  async sendTo(res: Writable): Promise<void> {
    const free: Buffer[] = []
    for (let i = 0; i < SEND_BUFFERS; i++) free.push(sendPool.pop() ?? Buffer.allocUnsafeSlow(CHUNK))
    let outstanding = 0
    let closed = false
    let writeError: Error | null = null
    let wake: (() => void) | null = null
    const signal = () => {
      const w = wake
      wake = null
      w?.()
    }
    const onClose = () => {
      closed = true
      signal()
    }
    res.on('close', onClose)
    const stopped = () => closed || writeError !== null || res.destroyed
    try {
      let pos = this.range.start
      while (pos <= this.range.end) {
        // Backpressure: at most SEND_BUFFERS MiB handed to the socket and not yet written.
        while (free.length === 0 && !stopped()) await new Promise<void>((resolve) => (wake = resolve))
        if (stopped()) return // the client went away: nothing to report
        const buf = free.pop()!
        const { bytesRead } = await this.handle.read(buf, 0, Math.min(CHUNK, this.range.end - pos + 1), pos)
        if (bytesRead === 0) {
          free.push(buf)
          throw new Error(`blob ended at byte ${pos}, before ${this.range.end + 1}`)
        }
        pos += bytesRead
        outstanding++
        res.write(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead), (err) => {
          outstanding--
          if (err) writeError ??= err
          free.push(buf)
          signal()
        })
      }
      if (stopped()) return
      res.end()
      while (outstanding > 0 && !closed) await new Promise<void>((resolve) => (wake = resolve))
    } catch (err) {
      res.destroy(err as Error)
      throw err
    } finally {
      res.off('close', onClose)
      await this.handle.close().catch(() => {})
      // A buffer whose write may still be pending is left to the GC, never reused.
      if (outstanding === 0) for (const b of free) if (sendPool.length < 2 * SEND_BUFFERS) sendPool.push(b)
    }
  }
}

/** Read buffers recycled by consumers of `FileReadStream`s (see RecyclingReadable), shared by all. */
const readPool: Buffer[] = []
const READ_POOL_MAX = 8

/**
 * The fs driver's read stream: 1 MiB reads straight on the fd (no promise per read) into pooled buffers.
 * @NOTE reconstruction reads every stored xorb byte once; a fresh 1 MiB buffer per read cost ~15% of
 * its time in GC (bench/README.md "## xet"). Only buffers this stream issued and a consumer handed
 * back through `recycle` are reused, each once: a consumer that keeps pieces is never affected.
 */
export class FileReadStream extends Readable implements RecyclingReadable {
  private pos: number
  private readonly issued = new Set<ArrayBufferLike>()
  private reading = false
  private afterRead: (() => void) | null = null

  constructor(
    private readonly handle: fsp.FileHandle,
    start: number,
    private readonly endExclusive: number,
  ) {
    super({ highWaterMark: CHUNK })
    this.pos = start
  }

  override _read(): void {
    const n = Math.min(CHUNK, this.endExclusive - this.pos)
    if (n <= 0) {
      this.push(null)
      return
    }
    const buf = readPool.pop() ?? Buffer.allocUnsafeSlow(CHUNK)
    this.reading = true
    fs.read(this.handle.fd, buf, 0, n, this.pos, (err, got) => {
      this.reading = false
      if (this.afterRead) {
        // Destroyed meanwhile: nobody saw this buffer.
        if (readPool.length < READ_POOL_MAX) readPool.push(buf)
        this.afterRead()
        return
      }
      if (err) {
        this.destroy(err)
        return
      }
      if (got === 0) {
        // End of file before the range's end: the stream ends there (as fs read streams do).
        if (readPool.length < READ_POOL_MAX) readPool.push(buf)
        this.push(null)
        return
      }
      this.pos += got
      this.issued.add(buf.buffer)
      this.push(got === buf.length ? buf : buf.subarray(0, got))
    })
  }

  recycle(piece: Buffer): void {
    // Once per issued buffer: a second call (or a foreign buffer) must never pool it twice.
    if (!this.issued.delete(piece.buffer)) return
    if (readPool.length < READ_POOL_MAX) readPool.push(Buffer.from(piece.buffer, 0, CHUNK))
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.issued.clear()
    const close = () =>
      void this.handle.close().then(
        () => cb(err),
        (closeErr: Error) => cb(err ?? closeErr),
      )
    // Never close the fd under a read in flight (the number could be reused meanwhile).
    if (this.reading) this.afterRead = close
    else close()
  }
}
