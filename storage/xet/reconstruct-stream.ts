/**
 * Streams a file's bytes (or a byte range) reconstructed from xorbs (docs/xet-protocol.md §6.1, §6.2): for each
 * planned term, reads its packed chunk range from storage, decodes chunk by chunk and pushes the
 * decompressed bytes with backpressure. Memory: the source stream's buffer plus about one chunk.
 */
import { Readable } from 'node:stream'
import { CHUNK_HEADER_SIZE, checkChunkHeader, decodeChunkHeader, decodeChunkPayload } from '../formats/xet/chunk-codec.js'
import { ByteQueue } from '../formats/xet/byte-queue.js'
import { chunkHash, hashToHex } from '../formats/xet/hash.js'
import type { PlannedTerm, XorbRef } from '../formats/xet/plan.js'

/** Stored xorb data does not decode to what the index says: corruption, not a client error. */
export class XetReconstructError extends Error {
  override name = 'XetReconstructError'
}

/** A planned term (plan.ts) whose xorb may be named any way the opener understands. */
export type ReconstructTerm<H> = Omit<PlannedTerm<XorbRef>, 'xorbHash' | 'chunkLengths'> & {
  xorbHash: H
  /** Expected unpacked length of each chunk (planRange fills it); checked when given. */
  chunkLengths?: readonly number[]
  /** Expected raw chunk hashes; checked when given and `verifyHashes` is set (costs one BLAKE3 pass). */
  chunkHashes?: readonly Uint8Array[]
}

export interface ReconstructOptions {
  /** Decoded bytes to drop first (the plan's offsetIntoFirstRange). */
  skip: number
  /** Bytes to emit in total. */
  length: number
  /** Check chunk hashes where the plan carries them (needs `await initXetHash()`). */
  verifyHashes?: boolean
  /** Output buffer size; default 1 MiB. */
  highWaterMark?: number
}

/** A source that takes back a piece it emitted once the reader holds no reference into it. */
interface Recycling {
  recycle(piece: Buffer): void
}

/** Opens packed bytes [start, endExclusive) of a stored xorb. */
export type OpenPacked<H> = (xorbHash: H, start: number, endExclusive: number) => Promise<Readable> | Readable

const describe = (h: unknown): string => (typeof h === 'string' ? h : Buffer.isBuffer(h) ? hashToHex(h) : String(h))

/**
 * Decompressed bytes `[skip, skip + length)` of the concatenated plan terms. The stream errors
 * (XetReconstructError) when a chunk header, payload, length or hash does not match the plan,
 * or when the packed range ends early or holds extra bytes.
 */
export function reconstructStream<H>(plan: { terms: readonly ReconstructTerm<H>[] }, openPacked: OpenPacked<H>, opts: ReconstructOptions): Readable {
  return Readable.from(generate(plan.terms, openPacked, opts), { objectMode: false, highWaterMark: opts.highWaterMark ?? 1 << 20 })
}

async function* generate<H>(terms: readonly ReconstructTerm<H>[], openPacked: OpenPacked<H>, opts: ReconstructOptions): AsyncGenerator<Buffer> {
  let toSkip = opts.skip
  let remaining = opts.length
  const hdr = Buffer.allocUnsafe(CHUNK_HEADER_SIZE)
  for (const [ti, term] of terms.entries()) {
    if (remaining <= 0) break
    const count = term.chunkEnd - term.chunkStart
    const label = `term ${ti} (xorb ${describe(term.xorbHash)} chunks [${term.chunkStart}, ${term.chunkEnd}))`
    const src = await openPacked(term.xorbHash, term.packedStart, term.packedEndExclusive)
    const q = new ByteQueue()
    // @NOTE a source with `recycle` (the fs driver's reads, through readKeyed) reuses a piece's buffer once handed
    // back, so then nothing emitted may be a view of a piece (uncompressed chunks are copied) and a
    // piece goes back only when the queue has consumed all of it (bytes up to `ends[i]`).
    const recycle = typeof (src as Partial<Recycling>).recycle === 'function' ? (src as Readable & Recycling) : null
    const held: Buffer[] = []
    const ends: number[] = []
    let pushed = 0
    let idx = 0
    let produced = 0
    try {
      reading: for await (const piece of src as AsyncIterable<Buffer>) {
        q.push(piece)
        if (recycle && piece.length > 0) {
          pushed += piece.length
          held.push(piece)
          ends.push(pushed)
        }
        for (;;) {
          if (recycle) while (held.length > 0 && ends[0]! <= q.consumed) recycle.recycle((ends.shift(), held.shift()!))
          if (q.length < CHUNK_HEADER_SIZE) break
          q.peek(hdr)
          const where = `${label}, chunk ${term.chunkStart + idx}`
          const h = decodeChunkHeader(hdr)
          try {
            checkChunkHeader(h, where)
          } catch (err) {
            throw new XetReconstructError((err as Error).message)
          }
          if (q.length < CHUNK_HEADER_SIZE + h.compressedLength) break
          if (idx >= count) throw new XetReconstructError(`${label}: packed range holds more than ${count} chunks`)
          const expected = term.chunkLengths?.[idx]
          if (expected !== undefined && expected !== h.uncompressedLength) {
            throw new XetReconstructError(`${where}: header says ${h.uncompressedLength} bytes, the index ${expected}`)
          }
          // Compressed payloads decode into a new buffer, so their bytes may sit in the queue's reused
          // scratch; an uncompressed payload is emitted as is and must stay valid (copied below when the
          // source recycles its pieces).
          const transient = h.scheme !== 0 || recycle !== null
          const packed = q.take(CHUNK_HEADER_SIZE + h.compressedLength, transient)
          let data: Buffer
          try {
            data = decodeChunkPayload(h.scheme, packed.subarray(CHUNK_HEADER_SIZE), h.uncompressedLength)
          } catch (err) {
            throw new XetReconstructError(`${where}: ${(err as Error).message}`)
          }
          // A frame may store its block uncompressed: then the result is a view of the scratch.
          if (transient && data.buffer === packed.buffer) data = Buffer.from(data)
          const want = opts.verifyHashes ? term.chunkHashes?.[idx] : undefined
          if (want && !chunkHash(data).equals(want)) throw new XetReconstructError(`${where}: chunk hash mismatch`)
          idx++
          produced += data.length
          if (toSkip >= data.length) {
            toSkip -= data.length
            continue
          }
          let out = toSkip > 0 ? data.subarray(toSkip) : data
          toSkip = 0
          if (out.length > remaining) out = out.subarray(0, remaining)
          remaining -= out.length
          yield out
          if (remaining === 0) break reading
        }
      }
      if (remaining > 0) {
        if (q.length > 0) throw new XetReconstructError(`${label}: packed range ends inside a chunk (${q.length} stray bytes)`)
        if (idx !== count) throw new XetReconstructError(`${label}: packed range holds ${idx} chunks, expected ${count}`)
        if (produced !== term.unpackedLength) throw new XetReconstructError(`${label}: decodes to ${produced} bytes, expected ${term.unpackedLength}`)
      }
    } finally {
      src.destroy()
    }
  }
  if (remaining > 0) throw new XetReconstructError(`plan yields ${opts.length - remaining} of the ${opts.length} bytes asked for`)
}
