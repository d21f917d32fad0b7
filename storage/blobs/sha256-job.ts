import { createHash } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { failJobsOnDeath } from '../worker-death.js'
import type { Sha256Answer, Sha256Message } from './sha256-worker.js'

/** Bytes per batch handed to the worker. */
const CHUNK = 1024 * 1024

/*
 * Off-thread SHA-256 for `put` (see bench/README.md): a core without SHA-NI hashes only ~0.35 GB/s,
 * so hashing on the event loop serialises with socket reads and file writes. One shared worker
 * hashes while the main thread writes; bytes travel in 1 MiB ArrayBuffers that are copied into
 * once, transferred (not cloned) to the worker, transferred back and reused (fresh memory is slow).
 */

// @NOTE: tests run the TypeScript sources through tap's loader, which the worker inherits (execArgv).
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './sha256-worker.ts' : './sha256-worker.js', import.meta.url)

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
    this.worker = new Worker(WORKER_URL)
    this.worker.unref()
    this.worker.on('message', (m: Sha256Answer) => {
      const job = this.jobs.get(m.id)
      if (m.op === 'returned') {
        if (job) job.returned(m.buf)
        else this.release(m.buf)
      } else if (job) {
        this.end(m.id)
        job.digest(m.hex)
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

  send(msg: Sha256Message): void {
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

export interface Sha256Job {
  /** Takes (copies) the chunks; `cb` once the caller may reuse them, later while the worker is behind. */
  update(chunks: Buffer[], cb: (err?: Error | null) => void): void
  digest(): Promise<string>
  abort(): void
}

/** SHA-256 of everything passed to update(), computed on the shared worker (inline if none can start). */
export function sha256Job(): Sha256Job {
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
