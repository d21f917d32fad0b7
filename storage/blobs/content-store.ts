import { createHash } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { BlobDriver, BlobWriter, RecyclingReadable } from './blob-driver.js'
import { streamRange, type BlobRange } from './blob-range.js'
import {
  BlobNotFoundError,
  BlobVerifyError,
  KEYED_NAMESPACES,
  SHA256_RE,
  type BlobExpectation,
  type BlobStore,
  type ByteRange,
  type KeyedNamespace,
  type StreamVerifier,
} from './blob-store.js'
import { sha256Job } from './sha256-job.js'

const CHUNK = 1024 * 1024

/** putKeyed: bytes a sink buffers while a write is in flight, written together by the next write. */
const KEYED_BATCH = 4 * CHUNK

const STAGING_ID_RE = /^[A-Za-z0-9_-]{1,100}$/

/** `sha256/ab/cd/<oid>`: the layout hubd has always used on disk. */
function blobKey(oid: string): string | null {
  return SHA256_RE.test(oid) ? `sha256/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}` : null
}

/** `xorb/ab/<hash>`, `shard/ab/<hash>`. */
function keyedKey(ns: KeyedNamespace, key: string): string | null {
  return KEYED_NAMESPACES.includes(ns) && SHA256_RE.test(key) ? `${ns}/${key.slice(0, 2)}/${key}` : null
}

/** `staging/<id>/`, the folder of an upload's part objects; `staging/<id>` is its in-place object (see createStaging). */
function stagingPrefix(id: string): string {
  if (!STAGING_ID_RE.test(id)) throw new BlobNotFoundError(`bad staging id: ${id}`)
  return `staging/${id}/`
}

/** Inspects the next buffers of an upload; calls back (maybe later, when it has caught up) or fails. */
type Inspect = (bufs: Buffer[], cb: (err?: Error | null) => void) => void

/**
 * The end of every write pipeline: counts (failing as soon as `limit` is exceeded), lets `inspect`
 * see the bytes and writes them to the driver's temp object. With `inspectFirst` a buffer is
 * written only once inspected (a Xet verifier stops a bad upload at the first bad chunk); without
 * it inspecting one batch and writing it overlap (the sha256 worker copies the bytes first).
 */
class CheckingSink extends Writable {
  count = 0

  constructor(
    private readonly writer: BlobWriter,
    private readonly limit: number,
    private readonly tooMany: string,
    private readonly inspect: Inspect | null,
    private readonly inspectFirst: boolean,
    highWaterMark: number,
  ) {
    super({ highWaterMark })
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.take([chunk], chunk.length, cb)
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    let n = 0
    for (const c of chunks) n += c.chunk.length
    this.take(
      chunks.map((c) => c.chunk),
      n,
      cb,
    )
  }

  private take(bufs: Buffer[], n: number, cb: (err?: Error | null) => void): void {
    this.count += n
    if (this.count > this.limit) return cb(new BlobVerifyError(this.tooMany))
    const write = (done: (err?: Error | null) => void) => void this.writer.write(bufs).then(() => done(), done)
    if (!this.inspect) return write(cb)
    if (this.inspectFirst) return this.inspect(bufs, (err) => (err ? cb(err) : write(cb)))
    let pending = 2
    let error: Error | null = null
    const done = (err?: Error | null) => {
      if (err && !error) error = err
      if (--pending === 0) cb(error)
    }
    this.inspect(bufs, done)
    write(done)
  }
}

/** Throws BlobVerifyError unless `count` bytes hashing to `digest` are the `expected` blob. */
function check(count: number, digest: string, expected: BlobExpectation): void {
  if (count !== expected.size) throw new BlobVerifyError(`size mismatch: expected ${expected.size} bytes, received ${count}`)
  if (digest !== expected.oid) throw new BlobVerifyError(`sha256 mismatch: expected ${expected.oid}, got ${digest}`)
}

/**
 * Streams `source` into `writer` through `sink`, lets `accept` check the result and end the
 * writer, then commits; on any failure runs `onFailure`, drops the temp object and rethrows.
 */
async function writeThrough(
  writer: BlobWriter,
  source: Readable,
  sink: CheckingSink,
  accept: () => Promise<void>,
  onFailure?: () => void,
): Promise<void> {
  try {
    await pipeline(source, sink)
    await accept()
    await writer.commit()
  } catch (err) {
    onFailure?.()
    await writer.abort()
    throw err
  }
}

/**
 * The blob store over any driver: every sha256 and size check, multipart staging (in place or
 * from part objects), and Xet keyed objects checked by their verifier. Bytes go into a driver temp object
 * while they are checked and are committed under their key only once accepted.
 */
export class ContentStore implements BlobStore {
  /** The driver's optional in-place writes, used for multipart staging when it has them. */
  private readonly inPlace: Required<Pick<BlobDriver, 'writeAt' | 'rename'>> | null

  constructor(private readonly driver: BlobDriver) {
    this.inPlace = driver.writeAt && driver.rename ? { writeAt: driver.writeAt.bind(driver), rename: driver.rename.bind(driver) } : null
  }

  async stat(oid: string): Promise<{ size: number } | null> {
    const key = blobKey(oid)
    return key ? this.driver.stat(key) : null
  }

  async read(oid: string, range?: ByteRange): Promise<Readable> {
    return this.driver.read(this.existingBlobKey(oid), range)
  }

  async openRange(oid: string, range: ByteRange): Promise<BlobRange> {
    const key = this.existingBlobKey(oid)
    if (this.driver.openRange) return this.driver.openRange(key, range)
    return streamRange(await this.driver.read(key, range))
  }

  private existingBlobKey(oid: string): string {
    const key = blobKey(oid)
    if (!key) throw new BlobNotFoundError(`not a sha256: ${oid}`)
    return key
  }

  async put(source: Readable, expected: BlobExpectation): Promise<void> {
    const key = blobKey(expected.oid)
    if (!key) throw new BlobVerifyError(`not a sha256: ${expected.oid}`)
    const writer = await this.driver.createWriter(key)
    // @NOTE: hashing runs on a worker while this thread writes (see sha256-job.ts); with fsync on,
    // the driver flushes as it goes and its final flush (before publishing, so a published blob
    // survives a power loss) overlaps the last hash batches.
    const hasher = sha256Job()
    const sink = new CheckingSink(writer, expected.size, `more than the announced ${expected.size} bytes received`, hasher.update, false, CHUNK)
    await writeThrough(
      writer,
      source,
      sink,
      async () => {
        const [digest] = await Promise.all([hasher.digest(), writer.end()])
        check(sink.count, digest, expected)
      },
      () => hasher.abort(),
    )
  }

  async delete(oid: string): Promise<void> {
    const key = blobKey(oid)
    if (key) await this.driver.delete(key)
  }

  /*
   * Multipart staging, two ways. Over a driver with `writeAt` (fs), parts are written in place
   * into one object `staging/<id>` of the upload's size, and the commit hashes it and renames it:
   * no copy. Otherwise (S3) every part is its own object `staging/<id>/part-<offset>` next to a
   * marker `staging/<id>/upload`, and the commit streams them in order into the blob, hashing.
   */

  async createStaging(id: string, size: number): Promise<void> {
    const prefix = stagingPrefix(id)
    const key = this.inPlace ? prefix.slice(0, -1) : `${prefix}upload`
    if (await this.driver.stat(key)) throw new Error(`upload ${id} exists`)
    const writer = await this.driver.createWriter(key, { durable: false })
    try {
      // In place: an object of the final size, its unwritten parts zeros (a sparse file on disk).
      if (this.inPlace) await writer.end(size)
      else {
        await writer.write([Buffer.from(String(size))])
        await writer.end()
      }
      await writer.commit()
    } catch (err) {
      await writer.abort()
      throw err
    }
  }

  async writeStaging(id: string, offset: number, length: number, source: Readable): Promise<void> {
    const prefix = stagingPrefix(id)
    if (!(Number.isSafeInteger(offset) && offset >= 0)) throw new RangeError(`bad part offset ${offset}`)
    let writer: BlobWriter
    if (this.inPlace) writer = await this.inPlace.writeAt(prefix.slice(0, -1), offset)
    else {
      if (!(await this.driver.stat(`${prefix}upload`))) throw new BlobNotFoundError(`no upload ${id}`)
      // Not durable: the commit hashes every part again, so a part torn by a power loss only fails it.
      writer = await this.driver.createWriter(`${prefix}part-${offset}`, { durable: false })
    }
    const sink = new CheckingSink(writer, length, `more than the announced ${length} bytes received`, null, false, CHUNK)
    await writeThrough(writer, source, sink, async () => {
      if (sink.count !== length) throw new BlobVerifyError(`part size mismatch: expected ${length} bytes, received ${sink.count}`)
      await writer.end()
    })
  }

  async commitStaging(id: string, expected: BlobExpectation): Promise<void> {
    const prefix = stagingPrefix(id)
    const dest = blobKey(expected.oid)
    if (!dest) throw new BlobVerifyError(`not a sha256: ${expected.oid}`)
    if (this.inPlace) {
      const key = prefix.slice(0, -1)
      // @NOTE: hashed on this thread: with nothing to write there is nothing for a worker to
      // overlap with, and its copies cost more than they save (measured: 0.9 vs 2.1 CPU s/GB);
      // read buffers go back to the driver's pool once hashed.
      const src = (await this.driver.read(key)) as Readable & Partial<RecyclingReadable>
      const hash = createHash('sha256')
      let count = 0
      for await (const piece of src as AsyncIterable<Buffer>) {
        count += piece.length
        if (count > expected.size) throw new BlobVerifyError(`more than the announced ${expected.size} bytes received`)
        hash.update(piece)
        src.recycle?.(piece)
      }
      check(count, hash.digest('hex'), expected)
      await this.inPlace.rename(key, dest)
      return
    }
    if (!(await this.driver.stat(`${prefix}upload`))) throw new BlobNotFoundError(`no upload ${id}`)
    const parts: { key: string; offset: number; size: number }[] = []
    for await (const o of this.driver.list(`${prefix}part-`)) parts.push({ ...o, offset: Number(o.key.slice(prefix.length + 5)) })
    parts.sort((a, b) => a.offset - b.offset)
    // The parts must tile the object exactly: a hole or an overlap can never hash right.
    let end = 0
    for (const p of parts) {
      if (p.offset !== end) throw new BlobVerifyError(`parts do not line up at byte ${Math.min(end, p.offset)}`)
      end += p.size
    }
    if (end !== expected.size) throw new BlobVerifyError(`size mismatch: expected ${expected.size} bytes, received ${end}`)
    const driver = this.driver
    const assembled = async function* () {
      for (const p of parts) yield* (await driver.read(p.key)) as AsyncIterable<Buffer>
    }
    await this.put(Readable.from(assembled(), { objectMode: false }), expected)
    await this.abortStaging(id)
  }

  async abortStaging(id: string): Promise<void> {
    const prefix = stagingPrefix(id)
    const keys: string[] = []
    for await (const o of this.driver.list(prefix)) keys.push(o.key)
    // The marker last, so a crash half-way leaves an upload that can still be aborted.
    keys.sort((a, b) => Number(a.endsWith('/upload')) - Number(b.endsWith('/upload')))
    for (const key of keys) await this.driver.delete(key)
    // The in-place object (see createStaging).
    if (await this.driver.stat(prefix.slice(0, -1))) await this.driver.delete(prefix.slice(0, -1))
  }

  async statKeyed(ns: KeyedNamespace, key: string): Promise<{ size: number } | null> {
    const k = keyedKey(ns, key)
    return k ? this.driver.stat(k) : null
  }

  async readKeyed(ns: KeyedNamespace, key: string, range?: ByteRange): Promise<Readable> {
    const k = keyedKey(ns, key)
    if (!k) throw new BlobNotFoundError(`not a ${ns} key: ${key}`)
    return this.driver.read(k, range)
  }

  async putKeyed(ns: KeyedNamespace, key: string, source: Readable, opts: { limit: number; verifier: StreamVerifier }): Promise<void> {
    const k = keyedKey(ns, key)
    if (!k) throw new BlobNotFoundError(`not a ${ns} key: ${key}`)
    const { verifier } = opts
    // @NOTE: the verifier sees each buffer before it is written; a bad chunk header stops the
    // upload there instead of after the whole body. Pieces that arrive while a write is in flight
    // queue up (up to KEYED_BATCH bytes) and go to the driver in one write (bench/README.md
    // "## xet": one write per 64 KiB piece, each waited for, cost about a third of the ingest time).
    const inspect: Inspect = (bufs, cb) => {
      let i = 0
      const next = (): void => {
        while (i < bufs.length) {
          let wait: void | Promise<void>
          try {
            wait = verifier.update(bufs[i++]!)
          } catch (err) {
            return cb(err as Error)
          }
          if (wait) return void wait.then(next, cb)
        }
        cb()
      }
      next()
    }
    const writer = await this.driver.createWriter(k)
    const sink = new CheckingSink(writer, opts.limit, `more than ${opts.limit} bytes received`, inspect, true, KEYED_BATCH)
    await writeThrough(
      writer,
      source,
      sink,
      async () => {
        const { keep } = await verifier.finish()
        await writer.end(keep < sink.count ? keep : undefined)
      },
      () => verifier.abort?.(),
    )
  }
}
