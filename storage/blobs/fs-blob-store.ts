import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable, Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Worker } from 'node:worker_threads'
import { failJobsOnDeath } from '../worker-death.js'
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

const CHUNK = 1024 * 1024

/** A transform that hashes and counts what passes through, failing as soon as `limit` is exceeded. */
function hashingCounter(limit: number): Transform & { digest(): string; count: number } {
  const hash = createHash('sha256')
  const t = new Transform({
    // @NOTE: 1 MiB buffers keep syscalls and hash calls few (see docs/performance.md).
    highWaterMark: CHUNK,
    transform(chunk: Buffer, _enc, cb) {
      t.count += chunk.length
      if (t.count > limit) return cb(new BlobVerifyError(`more than the announced ${limit} bytes received`))
      hash.update(chunk)
      cb(null, chunk)
    },
  }) as Transform & { digest(): string; count: number }
  t.count = 0
  t.digest = () => hash.digest('hex')
  return t
}

/*
 * Off-thread SHA-256 for `put` (see bench/README.md): a core without SHA-NI hashes only ~0.35 GB/s,
 * so hashing on the event loop serialises with socket reads and file writes. One shared worker
 * hashes while the main thread writes; bytes travel in 1 MiB ArrayBuffers that are copied into
 * once, transferred (not cloned) to the worker, transferred back and reused (fresh memory is slow).
 */
const HASH_WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const jobs = new Map()
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = jobs.get(m.id)
    if (!h) jobs.set(m.id, (h = createHash('sha256')))
    h.update(new Uint8Array(m.buf, 0, m.len))
    parentPort.postMessage({ op: 'returned', id: m.id, buf: m.buf }, [m.buf])
  } else if (m.op === 'digest') {
    const h = jobs.get(m.id) || createHash('sha256')
    jobs.delete(m.id)
    parentPort.postMessage({ op: 'digest', id: m.id, hex: h.digest('hex') })
  } else if (m.op === 'drop') {
    jobs.delete(m.id)
  }
})
`
/** Batches one upload may have at the worker before its writer waits (bounds memory per upload). */
const HASH_IN_FLIGHT = 4
/** Idle batches kept for reuse across uploads. */
const HASH_POOL_MAX = 16

interface HashJobEvents {
  returned(buf: ArrayBuffer): void
  digest(hex: string): void
  failed(err: Error): void
}

class HashWorker {
  private readonly worker: Worker
  private readonly jobs = new Map<number, HashJobEvents>()
  private nextId = 0
  private readonly pool: ArrayBuffer[] = []

  constructor(onDead: () => void) {
    this.worker = new Worker(HASH_WORKER_SOURCE, { eval: true })
    this.worker.unref()
    this.worker.on('message', (m: { op: string; id: number; buf?: ArrayBuffer; hex?: string }) => {
      const job = this.jobs.get(m.id)
      if (m.op === 'returned') {
        if (job) job.returned(m.buf!)
        else this.release(m.buf!)
      } else if (m.op === 'digest' && job) {
        this.end(m.id)
        job.digest(m.hex!)
      }
    })
    failJobsOnDeath(this.worker, this.jobs, 'sha256 worker', onDead)
  }

  start(events: HashJobEvents): number {
    const id = ++this.nextId
    // Referenced only while a job waits on it, so an idle worker never keeps the process alive.
    if (this.jobs.size === 0) this.worker.ref()
    this.jobs.set(id, events)
    return id
  }

  end(id: number): void {
    if (this.jobs.delete(id) && this.jobs.size === 0) this.worker.unref()
  }

  send(msg: { op: 'update'; id: number; buf: ArrayBuffer; len: number } | { op: 'digest' | 'drop'; id: number }): void {
    this.worker.postMessage(msg, msg.op === 'update' ? [msg.buf] : [])
  }

  take(): ArrayBuffer {
    return this.pool.pop() ?? new ArrayBuffer(CHUNK)
  }

  release(buf: ArrayBuffer): void {
    if (this.pool.length < HASH_POOL_MAX) this.pool.push(buf)
  }
}

let sharedHashWorker: HashWorker | null = null
function hashWorker(): HashWorker | null {
  if (!sharedHashWorker) {
    try {
      sharedHashWorker = new HashWorker(() => {
        sharedHashWorker = null
      })
    } catch {
      return null
    }
  }
  return sharedHashWorker
}

interface Sha256Job {
  /** Takes (copies) the chunks; `cb` once the caller may reuse them, later while the worker is behind. */
  update(chunks: Buffer[], cb: (err?: Error | null) => void): void
  digest(): Promise<string>
  abort(): void
}

/** SHA-256 of everything passed to update(), computed on the shared worker (inline if none can start). */
function sha256Job(): Sha256Job {
  const w = hashWorker()
  if (!w) {
    const hash = createHash('sha256')
    return {
      update: (chunks, cb) => {
        for (const c of chunks) hash.update(c)
        cb()
      },
      digest: async () => hash.digest('hex'),
      abort: () => {},
    }
  }
  let cur: ArrayBuffer | null = null
  let fill = 0
  let inFlight = 0
  let failure: Error | null = null
  let resume: (() => void) | null = null
  let settle: { resolve(hex: string): void; reject(err: Error): void } | null = null
  let ended = false
  const wake = () => {
    const r = resume
    resume = null
    r?.()
  }
  const id = w.start({
    returned(buf) {
      inFlight--
      w.release(buf)
      wake()
    },
    digest(hex) {
      settle?.resolve(hex)
    },
    failed(err) {
      failure = err
      wake()
      settle?.reject(err)
    },
  })
  const send = () => {
    w.send({ op: 'update', id, buf: cur!, len: fill })
    inFlight++
    cur = null
    fill = 0
  }
  return {
    update(chunks, cb) {
      let i = 0
      let off = 0
      const step = (): void => {
        while (i < chunks.length) {
          if (failure) return cb(failure)
          if (!cur) {
            if (inFlight >= HASH_IN_FLIGHT) {
              resume = step
              return
            }
            cur = w.take()
          }
          const c = chunks[i]!
          const n = Math.min(c.length - off, CHUNK - fill)
          new Uint8Array(cur, fill, n).set(c.subarray(off, off + n))
          fill += n
          off += n
          if (off === c.length) {
            i++
            off = 0
          }
          if (fill === CHUNK) send()
        }
        cb()
      }
      step()
    },
    digest() {
      if (failure) return Promise.reject(failure)
      ended = true
      if (fill > 0) send()
      else if (cur) w.release(cur)
      cur = null
      return new Promise((resolve, reject) => {
        settle = { resolve, reject }
        w.send({ op: 'digest', id })
      })
    },
    abort() {
      if (ended || failure) return
      ended = true
      if (cur) w.release(cur)
      cur = null
      w.send({ op: 'drop', id })
      w.end(id)
    },
  }
}

/** putKeyed: bytes a sink buffers while a write is in flight, written together by the next writev. */
const KEYED_BATCH = 4 * CHUNK

/** Write-behind: with fsync on, fdatasync every this many bytes during the upload, so the last one is short. */
const SYNC_EVERY = 64 * CHUNK

/**
 * The end of a `put` pipeline: writes to `fd`, counts (failing as soon as `limit` is exceeded) and
 * hands the same bytes to the hasher; writing one batch and hashing the previous ones overlap.
 */
class VerifyingFileSink extends Writable {
  count = 0
  private unsynced = 0
  private syncing: Promise<void> | null = null
  private syncError: Error | null = null

  constructor(
    private readonly fd: number,
    private readonly limit: number,
    private readonly hasher: Sha256Job,
    private readonly syncEvery: number,
  ) {
    super({ highWaterMark: CHUNK })
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeAll([chunk], chunk.length, cb)
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    let n = 0
    for (const c of chunks) n += c.chunk.length
    this.writeAll(
      chunks.map((c) => c.chunk),
      n,
      cb,
    )
  }

  private writeAll(bufs: Buffer[], n: number, cb: (err?: Error | null) => void): void {
    this.count += n
    if (this.count > this.limit) return cb(new BlobVerifyError(`more than the announced ${this.limit} bytes received`))
    if (this.syncError) return cb(this.syncError)
    let pending = 2
    let error: Error | null = null
    const done = (err?: Error | null) => {
      if (err && !error) error = err
      if (--pending > 0) return
      if (!error) this.maybeSync(n)
      cb(error)
    }
    this.hasher.update(bufs, done)
    writevFully(this.fd, bufs, done)
  }

  private maybeSync(n: number): void {
    if (this.syncEvery === 0) return
    this.unsynced += n
    if (this.syncing || this.unsynced < this.syncEvery) return
    this.unsynced = 0
    this.syncing = new Promise<void>((resolve) =>
      fs.fdatasync(this.fd, (err) => {
        if (err) this.syncError = err
        this.syncing = null
        resolve()
      }),
    )
  }

  override _final(cb: (err?: Error | null) => void): void {
    const finish = () => cb(this.syncError)
    if (this.syncing) void this.syncing.then(finish)
    else finish()
  }
}

function writevFully(fd: number, bufs: Buffer[], cb: (err?: Error | null) => void): void {
  fs.writev(fd, bufs, (err, written) => {
    if (err) return cb(err)
    // Short writes are rare on regular files but allowed: go on with what is left.
    let rest = bufs
    while (rest.length > 0 && written >= rest[0]!.length) {
      written -= rest[0]!.length
      rest = rest.slice(1)
    }
    if (rest.length === 0) return cb()
    writevFully(fd, [rest[0]!.subarray(written), ...rest.slice(1)], cb)
  })
}

/** An opened byte range of a blob that can write itself to an HTTP response (see FileRange). */
export interface BlobRange {
  /** Writes the bytes to `res` and ends it; closes the blob either way. */
  sendTo(res: Writable): Promise<void>
  close(): Promise<void>
}

/** Stores that can send a range without a per-chunk Readable (a driver capability, used by resolve). */
export interface BlobRangeOpener {
  openRange(oid: string, range: ByteRange): Promise<BlobRange>
}

export function canOpenRange(store: object): store is BlobRangeOpener {
  return typeof (store as Partial<BlobRangeOpener>).openRange === 'function'
}

/** Buffers a download reads into; each is reused once the socket has taken its bytes. */
const SEND_BUFFERS = 3
const sendPool: Buffer[] = []

/**
 * Download hot path (bench/README.md): a ReadStream allocates a fresh 1 MiB buffer per read, and
 * that external memory churn drives V8 into frequent GCs (plus first-touch page faults on these
 * VMs). Here the file is read into a few pooled buffers, each written to the response and
 * reused when its write callback says the socket no longer needs it.
 */
class FileRange implements BlobRange {
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

/** Read buffers recycled by consumers of `readKeyed` streams (see RecyclingReadable), shared by all. */
const keyedPool: Buffer[] = []
const KEYED_POOL_MAX = 8

/**
 * A readable whose consumer may hand a piece back once it holds no reference into it: `recycle`
 * puts its buffer into a pool the next reads take from (consumers that never call it just get
 * fresh buffers, as from any stream).
 */
export interface RecyclingReadable extends Readable {
  recycle(piece: Buffer): void
}

/**
 * `readKeyed`'s stream: 1 MiB reads straight on the fd (no promise per read) into pooled buffers.
 * @NOTE reconstruction reads every stored xorb byte once; a fresh 1 MiB buffer per read cost ~15% of
 * its time in GC (bench/README.md "## xet"). Only buffers this stream issued and a consumer handed
 * back through `recycle` are reused, each once: a consumer that keeps pieces is never affected.
 */
class KeyedReadStream extends Readable implements RecyclingReadable {
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
    const buf = keyedPool.pop() ?? Buffer.allocUnsafeSlow(CHUNK)
    this.reading = true
    fs.read(this.handle.fd, buf, 0, n, this.pos, (err, got) => {
      this.reading = false
      if (this.afterRead) {
        // Destroyed meanwhile: nobody saw this buffer.
        if (keyedPool.length < KEYED_POOL_MAX) keyedPool.push(buf)
        this.afterRead()
        return
      }
      if (err) {
        this.destroy(err)
        return
      }
      if (got === 0) {
        // End of file before the range's end: the stream ends there (as fs read streams do).
        if (keyedPool.length < KEYED_POOL_MAX) keyedPool.push(buf)
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
    if (keyedPool.length < KEYED_POOL_MAX) keyedPool.push(Buffer.from(piece.buffer, 0, CHUNK))
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

export interface FsBlobStoreOptions {
  /** fdatasync before publishing, so a power loss cannot leave an indexed but empty blob. */
  fsync: boolean
}

/**
 * Local-disk driver. Layout under `root`: `sha256/ab/cd/<oid>` for blobs, `tmp/<host>-<pid>-<n>/`
 * for writes in flight (one folder per process, so a sweep can tell dead writers from live ones),
 * `staging/<id>` for multipart uploads (they outlive restarts).
 */
export class FsBlobStore implements BlobStore {
  private readonly tmpDir: string
  private seq = 0

  constructor(
    private readonly root: string,
    private readonly options: FsBlobStoreOptions = { fsync: true },
  ) {
    this.tmpDir = path.join(root, 'tmp', `${os.hostname()}-${process.pid}-${Date.now().toString(36)}`)
    fs.mkdirSync(this.tmpDir, { recursive: true })
    fs.mkdirSync(path.join(root, 'staging'), { recursive: true })
  }

  private blobPath(oid: string): string {
    if (!SHA256_RE.test(oid)) throw new BlobNotFoundError(`not a sha256: ${oid}`)
    return path.join(this.root, 'sha256', oid.slice(0, 2), oid.slice(2, 4), oid)
  }

  private stagingPath(id: string): string {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw new BlobNotFoundError(`bad staging id: ${id}`)
    return path.join(this.root, 'staging', id)
  }

  async stat(oid: string): Promise<{ size: number } | null> {
    try {
      const st = await fsp.stat(this.blobPath(oid))
      return { size: st.size }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof BlobNotFoundError) return null
      throw err
    }
  }

  async read(oid: string, range?: ByteRange): Promise<Readable> {
    const handle = await this.open(oid)
    return handle.createReadStream({ highWaterMark: CHUNK, ...(range ? { start: range.start, end: range.end } : {}) })
  }

  /** Opens a blob for `sendBlobRange` (throws BlobNotFoundError before anything is sent). */
  async openRange(oid: string, range: ByteRange): Promise<BlobRange> {
    return new FileRange(await this.open(oid), range)
  }

  private async open(oid: string): Promise<fsp.FileHandle> {
    try {
      return await fsp.open(this.blobPath(oid), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(oid)
      throw err
    }
  }

  async put(source: Readable, expected: BlobExpectation): Promise<void> {
    const tmp = path.join(this.tmpDir, `put-${++this.seq}`)
    const handle = await fsp.open(tmp, 'w')
    const hasher = sha256Job()
    // @NOTE: hashing runs on a worker while this thread writes (VerifyingFileSink); with fsync on,
    // the sink flushes as it goes and the final fdatasync (before publishing, so a published blob
    // survives a power loss) overlaps the last hash batches.
    const sink = new VerifyingFileSink(handle.fd, expected.size, hasher, this.options.fsync ? SYNC_EVERY : 0)
    try {
      await pipeline(source, sink)
      const [digest] = await Promise.all([hasher.digest(), this.options.fsync ? handle.datasync() : null])
      verify({ count: sink.count, digest: () => digest }, expected)
      await handle.close()
      await this.publish(tmp, expected.oid)
    } catch (err) {
      hasher.abort()
      await handle.close().catch(() => {})
      await fsp.rm(tmp, { force: true })
      throw err
    }
  }

  private async publish(file: string, oid: string): Promise<void> {
    const dest = this.blobPath(oid)
    await fsp.mkdir(path.dirname(dest), { recursive: true })
    // @NOTE: rename is atomic; if the digest is already there the content is identical anyway.
    await fsp.rename(file, dest)
  }

  private keyedPath(ns: KeyedNamespace, key: string): string {
    if (!KEYED_NAMESPACES.includes(ns) || !SHA256_RE.test(key)) throw new BlobNotFoundError(`not a ${ns} key: ${key}`)
    return path.join(this.root, ns, key.slice(0, 2), key)
  }

  async statKeyed(ns: KeyedNamespace, key: string): Promise<{ size: number } | null> {
    try {
      return { size: (await fsp.stat(this.keyedPath(ns, key))).size }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof BlobNotFoundError) return null
      throw err
    }
  }

  async readKeyed(ns: KeyedNamespace, key: string, range?: ByteRange): Promise<Readable> {
    let handle: fsp.FileHandle
    try {
      handle = await fsp.open(this.keyedPath(ns, key), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(`${ns} ${key}`)
      throw err
    }
    if (range && !(Number.isSafeInteger(range.start) && range.start >= 0 && range.end >= range.start)) {
      await handle.close()
      throw new RangeError(`bad byte range ${range.start}-${range.end}`)
    }
    return new KeyedReadStream(handle, range?.start ?? 0, range ? range.end + 1 : Infinity)
  }

  async putKeyed(
    ns: KeyedNamespace,
    key: string,
    source: Readable,
    opts: { limit: number; verifier: StreamVerifier },
  ): Promise<void> {
    const dest = this.keyedPath(ns, key)
    const tmp = path.join(this.tmpDir, `${ns}-${++this.seq}`)
    const handle = await fsp.open(tmp, 'w')
    let count = 0
    // @NOTE: the verifier sees each buffer before it is written; a bad chunk header stops the
    // upload there instead of after the whole body. Pieces that arrive while a write is in flight
    // queue up (up to KEYED_BATCH bytes) and go to disk in one writev (bench/README.md "## xet":
    // one write per 64 KiB piece, each waited for, cost about a third of the ingest time).
    const take = (bufs: Buffer[], cb: (err?: Error | null) => void): void => {
      let i = 0
      const next = (): void => {
        while (i < bufs.length) {
          const b = bufs[i++]!
          count += b.length
          if (count > opts.limit) return cb(new BlobVerifyError(`more than ${opts.limit} bytes received`))
          let wait: void | Promise<void>
          try {
            wait = opts.verifier.update(b)
          } catch (err) {
            return cb(err as Error)
          }
          if (wait) return void wait.then(next, cb)
        }
        writevFully(handle.fd, bufs, cb)
      }
      next()
    }
    const sink = new Writable({
      highWaterMark: KEYED_BATCH,
      write(chunk: Buffer, _enc, cb) {
        take([chunk], cb)
      },
      writev(chunks, cb) {
        take(
          chunks.map((c) => c.chunk as Buffer),
          cb,
        )
      },
    })
    try {
      await pipeline(source, sink)
      const { keep } = await opts.verifier.finish()
      if (keep < count) await handle.truncate(keep)
      if (this.options.fsync) await handle.datasync()
      await handle.close()
      await fsp.mkdir(path.dirname(dest), { recursive: true })
      // Same key, same content: replacing an existing object is harmless.
      await fsp.rename(tmp, dest)
    } catch (err) {
      opts.verifier.abort?.()
      await handle.close().catch(() => {})
      await fsp.rm(tmp, { force: true })
      throw err
    }
  }

  async createStaging(id: string, size: number): Promise<void> {
    const handle = await fsp.open(this.stagingPath(id), 'wx')
    try {
      await handle.truncate(size)
    } finally {
      await handle.close()
    }
  }

  async writeStaging(id: string, offset: number, length: number, source: Readable): Promise<void> {
    const file = this.stagingPath(id)
    if (!(await fsp.stat(file).catch(() => null))) throw new BlobNotFoundError(`no upload ${id}`)
    const counter = hashingCounter(length)
    await pipeline(source, counter, fs.createWriteStream(file, { flags: 'r+', start: offset, highWaterMark: CHUNK }))
    if (counter.count !== length) {
      throw new BlobVerifyError(`part size mismatch: expected ${length} bytes, received ${counter.count}`)
    }
  }

  async commitStaging(id: string, expected: BlobExpectation): Promise<void> {
    const file = this.stagingPath(id)
    const counter = hashingCounter(expected.size)
    await pipeline(fs.createReadStream(file, { highWaterMark: CHUNK }), counter, async (src: AsyncIterable<Buffer>) => {
      for await (const _ of src) {
        // drain: the counter hashes as bytes pass
      }
    })
    verify(counter, expected)
    if (this.options.fsync) {
      const handle = await fsp.open(file, 'r+')
      await handle.datasync().finally(() => handle.close())
    }
    await this.publish(file, expected.oid)
  }

  async abortStaging(id: string): Promise<void> {
    await fsp.rm(this.stagingPath(id), { force: true })
  }

  async delete(oid: string): Promise<void> {
    await fsp.rm(this.blobPath(oid), { force: true })
  }

  async sweep(): Promise<void> {
    const tmpRoot = path.join(this.root, 'tmp')
    const host = os.hostname()
    for (const name of await fsp.readdir(tmpRoot)) {
      const dir = path.join(tmpRoot, name)
      if (dir === this.tmpDir) continue
      const m = /^(.*)-(\d+)-[0-9a-z]+$/.exec(name)
      let dead: boolean
      if (m && m[1] === host) {
        dead = !processAlive(Number(m[2]))
      } else {
        // Another host's writer (shared storage): only give up on it after a day.
        const st = await fsp.stat(dir).catch(() => null)
        dead = st !== null && Date.now() - st.mtimeMs > 24 * 3600 * 1000
      }
      if (dead) await fsp.rm(dir, { recursive: true, force: true })
    }
  }
}

function verify(counter: { count: number; digest(): string }, expected: BlobExpectation): void {
  if (counter.count !== expected.size) {
    throw new BlobVerifyError(`size mismatch: expected ${expected.size} bytes, received ${counter.count}`)
  }
  const digest = counter.digest()
  if (digest !== expected.oid) throw new BlobVerifyError(`sha256 mismatch: expected ${expected.oid}, got ${digest}`)
}

function processAlive(pid: number): boolean {
  // Our own pid on another folder is a previous incarnation (pid 1 in a container, say).
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

