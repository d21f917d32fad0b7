/**
 * Xorb verification spread over worker threads (bench/README.md "## xet": decode + keyed BLAKE3
 * of a chunk costs ~1.6× hashing it, so one verifying thread tops out near 0.6× the BLAKE3 rate).
 * The caller's thread scans the body as it arrives (chunk headers, limits, footer: cheap, see
 * XorbScanner), copies complete chunks into ~1 MiB chunk-aligned batches and transfers each to the
 * least loaded worker, which answers the batch's chunk hashes; `finish` waits for every batch and
 * checks the end of the body and the merkle root here (`concludeXorb`). Receiving, writing and
 * verifying overlap, and one xorb's batches verify on several cores at once. Falls back to
 * verifying inline when no worker can be started.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { failJobsOnDeath } from '../worker-death.js'
import { XetFormatError } from '../formats/xet/errors.js'
import { BufferSource, concludeXorb, type ScannedChunk, verifyChunks, type XorbChunk, type XorbLayout, XorbScanner } from '../formats/xet/xorb-parts.js'
import { XorbVerifier } from '../formats/xet/xorb.js'
import type { BatchAnswer, BatchMessage } from './xorb-verify-worker.js'

/** An xorb being verified while it streams in (see `startXorbCheck`). */
export interface XorbCheck {
  /**
   * Takes (copies) the next body bytes; throws the first failure already known (XetFormatError for
   * bad content). Returns a promise when the workers are behind: wait for it before pushing more.
   */
  push(bytes: Uint8Array): void | Promise<void>
  /** Ends the body: the layout if it is a valid xorb hashing to `expectedHashHex`, else rejects (XetFormatError). */
  finish(expectedHashHex: string): Promise<XorbLayout>
  /** Gives up (upload failed elsewhere); later calls are not allowed, answers still due are ignored. */
  abort(): void
}

/** Batch buffer size: a batch is the complete chunks of one full buffer (≥ 768 KiB, as a chunk is ≤ 256 KiB). */
const BATCH = 1024 * 1024
/** Batches one upload may have at the workers before `push` asks the caller to wait (bounds memory: ~9 MiB per upload). */
const IN_FLIGHT = 8

/**
 * Batch buffers back from the workers, for the next batches of any upload (at most 16 MiB kept):
 * a fresh 1 MiB ArrayBuffer per batch costs the event loop zeroing and page faults.
 */
const spare: ArrayBuffer[] = []
const SPARE_MAX = 16
const batchBuffer = (): Uint8Array => new Uint8Array(spare.pop() ?? new ArrayBuffer(BATCH))
const recycle = (buf: ArrayBuffer): void => {
  if (spare.length < SPARE_MAX && buf.byteLength === BATCH) spare.push(buf)
}

interface BatchEvents {
  done(hashes: Uint8Array): void
  failed(err: Error): void
}

// @NOTE: tests run the TypeScript sources through tap's loader, which the worker inherits (execArgv).
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './xorb-verify-worker.ts' : './xorb-verify-worker.js', import.meta.url)

class VerifyWorker {
  private readonly worker: Worker
  private readonly jobs = new Map<number, BatchEvents>()
  private nextId = 0

  constructor(onDead: () => void) {
    this.worker = new Worker(WORKER_URL)
    this.worker.unref()
    this.worker.on('message', (m: BatchAnswer) => {
      recycle(m.buf)
      const job = this.jobs.get(m.id)
      if (!job) return
      if (this.jobs.delete(m.id) && this.jobs.size === 0) this.worker.unref()
      if ('hashes' in m) job.done(m.hashes)
      else job.failed(m.format ? new XetFormatError(m.message) : new Error(m.message))
    })
    failJobsOnDeath(this.worker, this.jobs, 'xorb verification worker', onDead)
  }

  /** Ends the thread; its batches fail as for any death (tests). */
  terminate(): Promise<number> {
    return this.worker.terminate()
  }

  /** Batches waiting for an answer. */
  get load(): number {
    return this.jobs.size
  }

  /** Transfers `batch.buf` to the worker; `events` hears its answer (or the worker's death). */
  verify(batch: Omit<BatchMessage, 'id'>, events: BatchEvents): void {
    const id = ++this.nextId
    // Referenced only while a batch waits on it, so an idle worker never keeps the process alive.
    if (this.jobs.size === 0) this.worker.ref()
    this.jobs.set(id, events)
    this.worker.postMessage({ id, ...batch } satisfies BatchMessage, [batch.buf])
  }
}

/**
 * Workers: one per core, at least one, at most four. @NOTE not one per spare core: while an upload
 * streams in, the event loop mostly waits on the socket and the disk (scanning headers, copying
 * into batches and the writes cost it about a sixth of what verifying costs the workers; its
 * profile during bench/xet.mjs ingest is ~88% idle), so on 2 cores two verifying workers keep
 * both busy; past four, one upload cannot feed more (the client's sending and the write are the
 * limit) and concurrent uploads already fill them.
 */
const POOL_SIZE = Math.min(4, Math.max(1, availableParallelism()))
const pool: (VerifyWorker | null)[] = new Array(POOL_SIZE).fill(null)
let workersDisabled = false

/**
 * The worker for the next batch: an idle one, else a new one while the pool is not full, else the
 * least loaded; null when workers cannot run here.
 */
function pickWorker(): VerifyWorker | null {
  if (workersDisabled) return null
  let best: VerifyWorker | null = null
  let free = -1
  for (let i = 0; i < pool.length; i++) {
    const w = pool[i]
    if (!w) free = free < 0 ? i : free
    else if (!best || w.load < best.load) best = w
  }
  if ((best && best.load === 0) || free < 0) return best
  try {
    const started: VerifyWorker = new VerifyWorker(() => {
      if (pool[free] === started) pool[free] = null
    })
    return (pool[free] = started)
  } catch {
    if (!best) workersDisabled = true
    return best
  }
}

/** Test hook: verify inline (true) or on workers again (false). */
export function setXorbWorkersDisabled(disabled: boolean): void {
  workersDisabled = disabled
}

/** Test hook: kills the running workers, as if they had died (their batches fail; new ones start on demand). */
export async function killXorbWorkers(): Promise<void> {
  await Promise.all(pool.map((w) => w?.terminate()))
}

/** Worker threads for xorb verification: how many at most, how many running now (tests, bench). */
export function xorbVerifyWorkers(): { size: number; running: number } {
  return { size: POOL_SIZE, running: pool.filter((w) => w !== null).length }
}

/**
 * Starts verifying one xorb body: on the worker threads when they are available, else inline (same
 * checks, same XetFormatError messages). Requires `await initXetHash()` for the inline case.
 * When several chunks are bad, the first failure to be known wins (on workers, not necessarily
 * the first bad chunk).
 */
export function startXorbCheck(): XorbCheck {
  if (!pickWorker()) return inlineCheck()
  const scanner = new XorbScanner()
  /** Every complete chunk found so far, in order. */
  const scanned: ScannedChunk[] = []
  /** Per batch sent: its first chunk index and, once answered, its hashes. */
  const batches: { first: number; hashes: Uint8Array | null }[] = []
  let cur = batchBuffer()
  const src = new BufferSource(cur, 0)
  /** Bytes of `cur` split into complete chunks not yet sent (the rest: an incomplete chunk or the footer). */
  let scanPos = 0
  let sent = 0 // chunks sent
  let inFlight = 0
  let failure: Error | null = null
  let ended = false
  let aborted = false
  let settle: { resolve(l: XorbLayout): void; reject(err: Error): void; expected: string } | null = null
  let resume: (() => void) | null = null

  const wake = () => {
    const r = resume
    resume = null
    r?.()
  }
  const fail = (err: Error) => {
    if (aborted || failure) return
    failure = err
    wake()
    settle?.reject(err)
  }
  const conclude = () => {
    if (failure || !settle || inFlight > 0) return
    try {
      const chunks: XorbChunk[] = new Array(scanned.length)
      for (const b of batches) {
        const h = b.hashes!
        for (let j = 0; j < h.byteLength / 32; j++) {
          chunks[b.first + j] = { hash: Buffer.from(h.buffer, h.byteOffset + 32 * j, 32), ...scanned[b.first + j]! }
        }
      }
      const layout = concludeXorb(scanner, chunks, Buffer.from(cur.buffer, scanPos, src.length - scanPos), settle.expected)
      recycle(cur.buffer as ArrayBuffer)
      settle.resolve(layout)
    } catch (err) {
      fail(err as Error)
    }
  }
  /** Sends the complete chunks in `cur` (whose buffer goes to the worker), keeping the rest in a new one. */
  const sendBatch = () => {
    const count = scanned.length - sent
    if (count === 0) {
      // Cannot happen: a full buffer holds a complete chunk (≤ 256 KiB) or a footer too long already.
      if (src.length === BATCH) throw new Error('xorb batch buffer full without a complete chunk')
      return
    }
    const full = cur
    const len = scanPos
    cur = batchBuffer()
    cur.set(full.subarray(len, src.length))
    src.buf = cur
    src.length -= len
    scanPos = 0
    const batch = { first: sent, hashes: null as Uint8Array | null }
    batches.push(batch)
    const msg = { buf: full.buffer as ArrayBuffer, len, count, index: sent, offset: scanned[sent]!.packedOffset }
    sent += count
    inFlight++
    const events: BatchEvents = {
      done(hashes) {
        if (aborted || failure) return
        batch.hashes = hashes
        inFlight--
        if (inFlight < IN_FLIGHT) wake()
        conclude()
      },
      failed: fail,
    }
    const w = pickWorker()
    if (w) w.verify(msg, events)
    else {
      // Every worker died and none can start again: verify here (still in order, still checked).
      try {
        events.done(verifyChunks(new Uint8Array(msg.buf, 0, len), count, msg.index, msg.offset))
      } catch (err) {
        fail(err as Error)
      }
      recycle(msg.buf)
    }
  }

  return {
    push(bytes) {
      if (failure) throw failure
      if (ended) throw new Error('XorbCheck.push after finish')
      if (bytes.byteLength === 0) return
      try {
        scanner.add(bytes.byteLength)
        let off = 0
        while (off < bytes.byteLength) {
          const n = Math.min(bytes.byteLength - off, BATCH - src.length)
          cur.set(bytes.subarray(off, off + n), src.length)
          src.length += n
          off += n
          scanPos = scanner.scan(src, scanPos, scanned)
          if (src.length === BATCH) sendBatch()
        }
      } catch (err) {
        fail(err as Error)
        throw err
      }
      if (failure) throw failure
      if (inFlight < IN_FLIGHT) return
      return new Promise<void>((resolve, reject) => {
        resume = () => (failure ? reject(failure) : resolve())
      })
    },
    finish(hash) {
      if (failure) return Promise.reject(failure)
      if (ended) return Promise.reject(new Error('XorbCheck.finish called twice'))
      ended = true
      return new Promise((resolve, reject) => {
        settle = { resolve, reject, expected: hash }
        sendBatch()
        conclude()
      })
    },
    abort() {
      ended = true
      aborted = true
      wake()
    },
  }
}

function inlineCheck(): XorbCheck {
  const v = new XorbVerifier()
  return {
    push: (bytes) => v.push(bytes),
    finish: async (hash) => v.finish(hash),
    abort: () => {},
  }
}
