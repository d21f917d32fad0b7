/**
 * Xorb verification on worker threads (bench/README.md "## xet": with decode + keyed BLAKE3 on the
 * event loop, ingest was limited by verification at ~0.46× the BLAKE3 rate). The caller's thread
 * only copies the received bytes into 1 MiB batches that are transferred to a worker running an
 * XorbVerifier; receiving and writing overlap the verification. Falls back to verifying inline
 * when no worker can be started.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { failJobsOnDeath } from '../worker-death.js'
import { XetFormatError } from '../formats/xet/errors.js'
import { XorbVerifier, type XorbChunk, type XorbLayout } from '../formats/xet/xorb.js'

/** An xorb being verified while it streams in (see `startXorbCheck`). */
export interface XorbCheck {
  /**
   * Takes (copies) the next body bytes; throws the first failure already known (XetFormatError for
   * bad content). Returns a promise when the worker is behind: wait for it before pushing more.
   */
  push(bytes: Uint8Array): void | Promise<void>
  /** Ends the body: the layout if it is a valid xorb hashing to `expectedHashHex`, else rejects (XetFormatError). */
  finish(expectedHashHex: string): Promise<XorbLayout>
  /** Gives up (upload failed elsewhere); later calls are not allowed. */
  abort(): void
}

const BATCH = 1024 * 1024
/** Batches one upload may have at its worker before `push` asks the caller to wait (bounds memory). */
const IN_FLIGHT = 8

interface JobEvents {
  acked(): void
  failed(err: Error): void
  layout(l: XorbLayout): void
}

type FromWorker =
  | { op: 'ack'; id: number }
  | { op: 'error'; id: number; message: string; format: boolean }
  | { op: 'layout'; id: number; hash: Uint8Array; hashes: Uint8Array; nums: Float64Array; packedLength: number; unpackedLength: number }

// @NOTE: tests run the TypeScript sources through tap's loader, which the worker inherits (execArgv).
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './xorb-verify-worker.ts' : './xorb-verify-worker.js', import.meta.url)

class VerifyWorker {
  private readonly worker: Worker
  private readonly jobs = new Map<number, JobEvents>()
  private nextId = 0

  constructor(onDead: () => void) {
    this.worker = new Worker(WORKER_URL)
    this.worker.unref()
    this.worker.on('message', (m: FromWorker) => {
      const job = this.jobs.get(m.id)
      if (!job) return
      if (m.op === 'ack') job.acked()
      else if (m.op === 'error') {
        this.end(m.id)
        job.failed(m.format ? new XetFormatError(m.message) : new Error(m.message))
      } else {
        this.end(m.id)
        job.layout(unpackLayout(m))
      }
    })
    failJobsOnDeath(this.worker, this.jobs, 'xorb verification worker', onDead)
  }

  get load(): number {
    return this.jobs.size
  }

  start(events: JobEvents): number {
    const id = ++this.nextId
    // Referenced only while a job waits on it, so an idle worker never keeps the process alive.
    if (this.jobs.size === 0) this.worker.ref()
    this.jobs.set(id, events)
    return id
  }

  end(id: number): void {
    if (this.jobs.delete(id) && this.jobs.size === 0) this.worker.unref()
  }

  send(msg: { op: 'push'; id: number; buf: ArrayBuffer; len: number } | { op: 'finish'; id: number; hash: string } | { op: 'drop'; id: number }): void {
    this.worker.postMessage(msg, msg.op === 'push' ? [msg.buf] : [])
  }
}

function unpackLayout(m: Extract<FromWorker, { op: 'layout' }>): XorbLayout {
  const n = m.nums.length / 5
  const hashes = Buffer.from(m.hashes.buffer, m.hashes.byteOffset, m.hashes.byteLength)
  const chunks: XorbChunk[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const o = 5 * i
    chunks[i] = {
      hash: hashes.subarray(32 * i, 32 * i + 32),
      packedOffset: m.nums[o]!,
      packedLength: m.nums[o + 1]!,
      unpackedOffset: m.nums[o + 2]!,
      unpackedLength: m.nums[o + 3]!,
      scheme: m.nums[o + 4]!,
    }
  }
  return { hash: Buffer.from(m.hash.buffer, m.hash.byteOffset, m.hash.byteLength), chunks, packedLength: m.packedLength, unpackedLength: m.unpackedLength }
}

/** Workers: one per spare core (the event loop keeps one), at least one, at most two. */
const POOL_SIZE = Math.min(2, Math.max(1, availableParallelism() - 1))
const pool: (VerifyWorker | null)[] = new Array(POOL_SIZE).fill(null)
let workersDisabled = false

/** The least busy worker, started on first use; null when workers cannot run here. */
function pickWorker(): VerifyWorker | null {
  if (workersDisabled) return null
  let best = -1
  for (let i = 0; i < pool.length; i++) {
    const w = pool[i]
    if (!w) {
      try {
        const started: VerifyWorker = new VerifyWorker(() => {
          if (pool[i] === started) pool[i] = null
        })
        return (pool[i] = started)
      } catch {
        workersDisabled = true
        return null
      }
    }
    if (best < 0 || w.load < pool[best]!.load) best = i
  }
  return pool[best]!
}

/** Test hook: verify inline (true) or on workers again (false). */
export function setXorbWorkersDisabled(disabled: boolean): void {
  workersDisabled = disabled
}

/**
 * Starts verifying one xorb body: on a worker thread when one is available, else inline (same
 * checks, same XetFormatError messages). Requires `await initXetHash()` for the inline case.
 */
export function startXorbCheck(): XorbCheck {
  const w = pickWorker()
  if (!w) return inlineCheck()
  let failure: Error | null = null
  let settle: { resolve(l: XorbLayout): void; reject(err: Error): void } | null = null
  let ended = false
  let cur: ArrayBuffer | null = null
  let fill = 0
  let inFlight = 0
  let resume: (() => void) | null = null
  const wake = () => {
    const r = resume
    resume = null
    r?.()
  }
  const id = w.start({
    acked() {
      inFlight--
      if (inFlight < IN_FLIGHT) wake()
    },
    failed(err) {
      failure = err
      wake()
      settle?.reject(err)
    },
    layout(l) {
      settle?.resolve(l)
    },
  })
  const send = () => {
    if (fill > 0) {
      w.send({ op: 'push', id, buf: cur!, len: fill })
      inFlight++
    }
    cur = null
    fill = 0
  }
  return {
    push(bytes) {
      if (failure) throw failure
      if (ended) throw new Error('XorbCheck.push after finish')
      let off = 0
      while (off < bytes.byteLength) {
        if (!cur) cur = new ArrayBuffer(BATCH)
        const n = Math.min(bytes.byteLength - off, BATCH - fill)
        new Uint8Array(cur, fill, n).set(bytes.subarray(off, off + n))
        fill += n
        off += n
        if (fill === BATCH) send()
      }
      if (inFlight < IN_FLIGHT) return
      return new Promise<void>((resolve, reject) => {
        resume = () => (failure ? reject(failure) : resolve())
      })
    },
    finish(hash) {
      if (failure) return Promise.reject(failure)
      if (ended) return Promise.reject(new Error('XorbCheck.finish called twice'))
      ended = true
      send()
      return new Promise((resolve, reject) => {
        settle = { resolve, reject }
        w.send({ op: 'finish', id, hash })
      })
    },
    abort() {
      // After finish the worker has forgotten the job already; its answer is simply ignored.
      if (ended) return
      ended = true
      cur = null
      w.send({ op: 'drop', id })
      w.end(id)
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
