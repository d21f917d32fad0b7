/**
 * Worker-thread side of `startXorbCheck` (xorb-verify-pool.ts): decodes and hashes one batch of
 * complete chunks per message, keeping no state between them (any worker can take any batch).
 * Message: {id, buf, len, count, index, offset} (buf transferred; its first `len` bytes are
 * `count` chunks, the first being chunk `index` at xorb byte `offset`). Answer: {id, buf, hashes}
 * (32 bytes per chunk) or {id, buf, message, format} when a chunk does not verify; `buf` goes back
 * for reuse (a fresh 1 MiB ArrayBuffer per batch costs the main thread zeroing and page faults).
 */
import { parentPort } from 'node:worker_threads'
import { XetFormatError } from '../formats/xet/errors.js'
import { initXetHash } from '../formats/xet/hash.js'
import { verifyChunks } from '../formats/xet/xorb-parts.js'

export interface BatchMessage {
  id: number
  buf: ArrayBuffer
  len: number
  count: number
  index: number
  offset: number
}

export type BatchAnswer = { id: number; buf: ArrayBuffer } & ({ hashes: Uint8Array } | { message: string; format: boolean })

const port = parentPort!
// @NOTE: messages posted before the listener is attached wait in the port, so awaiting here is safe.
await initXetHash()

port.on('message', (m: BatchMessage) => {
  let answer: BatchAnswer
  try {
    answer = { id: m.id, buf: m.buf, hashes: verifyChunks(new Uint8Array(m.buf, 0, m.len), m.count, m.index, m.offset) }
  } catch (err) {
    answer = { id: m.id, buf: m.buf, message: err instanceof Error ? err.message : String(err), format: err instanceof XetFormatError }
  }
  port.postMessage(answer, 'hashes' in answer ? [m.buf, answer.hashes.buffer as ArrayBuffer] : [m.buf])
})
