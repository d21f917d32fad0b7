/**
 * Worker-thread side of `sha256Job` (sha256-job.ts): one SHA-256 per job id, fed in order.
 * Messages: {op:'update', id, buf, len} (buf transferred; hashes its first `len` bytes and sends
 * buf back as {op:'returned', id, buf} for reuse), {op:'digest', id} (answers {op:'digest', id,
 * hex} and forgets the job), {op:'drop', id} (forgets it silently).
 */
import { createHash, type Hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'

export type Sha256Message = { op: 'update'; id: number; buf: ArrayBuffer; len: number } | { op: 'digest' | 'drop'; id: number }

export type Sha256Answer = { op: 'returned'; id: number; buf: ArrayBuffer } | { op: 'digest'; id: number; hex: string }

const port = parentPort!
const jobs = new Map<number, Hash>()

port.on('message', (m: Sha256Message) => {
  if (m.op === 'update') {
    let h = jobs.get(m.id)
    if (!h) jobs.set(m.id, (h = createHash('sha256')))
    h.update(new Uint8Array(m.buf, 0, m.len))
    port.postMessage({ op: 'returned', id: m.id, buf: m.buf } satisfies Sha256Answer, [m.buf])
  } else if (m.op === 'digest') {
    const h = jobs.get(m.id) ?? createHash('sha256')
    jobs.delete(m.id)
    port.postMessage({ op: 'digest', id: m.id, hex: h.digest('hex') } satisfies Sha256Answer)
  } else {
    jobs.delete(m.id)
  }
})
