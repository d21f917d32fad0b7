/**
 * Worker-thread side of `startXorbCheck` (xorb-verify-pool.ts): one XorbVerifier per job id.
 * Messages: push {id, buf, len} (buf transferred), finish {id, hash}, drop {id}. Answers: ack {id}
 * per push, error {id, message, format} at the first failure (once per job), layout {id, ...} after finish.
 */
import { parentPort } from 'node:worker_threads'
import { XetFormatError } from '../formats/xet/errors.js'
import { initXetHash } from '../formats/xet/hash.js'
import { XorbVerifier } from '../formats/xet/xorb.js'

type Msg = { op: 'push'; id: number; buf: ArrayBuffer; len: number } | { op: 'finish'; id: number; hash: string } | { op: 'drop'; id: number }

const port = parentPort!
// @NOTE: messages posted before the listener is attached wait in the port, so awaiting here is safe.
await initXetHash()

const jobs = new Map<number, { v: XorbVerifier; failed: boolean }>()

const fail = (id: number, err: unknown): void => {
  const format = err instanceof XetFormatError
  port.postMessage({ op: 'error', id, message: err instanceof Error ? err.message : String(err), format })
}

port.on('message', (m: Msg) => {
  let job = jobs.get(m.id)
  if (m.op === 'drop') {
    jobs.delete(m.id)
    return
  }
  if (!job) jobs.set(m.id, (job = { v: new XorbVerifier({ deferDecode: false }), failed: false }))
  if (job.failed) {
    if (m.op === 'finish') jobs.delete(m.id)
    return
  }
  try {
    if (m.op === 'push') {
      job.v.push(new Uint8Array(m.buf, 0, m.len))
      port.postMessage({ op: 'ack', id: m.id })
      return
    }
    jobs.delete(m.id)
    const l = job.v.finish(m.hash)
    const n = l.chunks.length
    const hashes = new Uint8Array(32 * n)
    const nums = new Float64Array(5 * n)
    for (let i = 0; i < n; i++) {
      const c = l.chunks[i]!
      hashes.set(c.hash, 32 * i)
      nums.set([c.packedOffset, c.packedLength, c.unpackedOffset, c.unpackedLength, c.scheme], 5 * i)
    }
    const hash = new Uint8Array(l.hash)
    port.postMessage({ op: 'layout', id: m.id, hash, hashes, nums, packedLength: l.packedLength, unpackedLength: l.unpackedLength }, [hash.buffer, hashes.buffer, nums.buffer])
  } catch (err) {
    job.failed = true
    fail(m.id, err)
  }
})
