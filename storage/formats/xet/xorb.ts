/**
 * Xorb verification and building (docs/xet-protocol.md §3.3, §5.1). The body is never trusted: every chunk is
 * decompressed and hashed, the merkle root must equal the hash the client named, and an old
 * client's trailing footer is only length-checked and stripped.
 */
import { type ChunkScheme, encodeChunk } from './chunk-codec.js'
import { ByteQueue } from './byte-queue.js'
import { chunkHash, xorbHash } from './hash.js'
import { concludeXorb, FOOTER_IDENT, type ScannedChunk, verifyChunk, type XorbChunk, type XorbLayout, type XorbLimits, XorbScanner } from './xorb-parts.js'

export { MAX_XORB_BODY, MAX_XORB_CHUNKS, MAX_XORB_UNPACKED, xorbFooterMax } from './xorb-parts.js'
export type { XorbChunk, XorbLayout, XorbLimits } from './xorb-parts.js'

export interface XorbVerifierOptions extends XorbLimits {
  /**
   * Decompress and hash complete chunks in a microtask after `push` returns rather than inside it
   * (default true); `finish` catches up synchronously. Header and limit checks stay in `push`.
   */
  deferDecode?: boolean
}

/**
 * Incremental xorb verifier: `push` body bytes as they arrive (any split), then `finish` with the
 * hash from the URL. Holds at most the chunks not yet verified (and an old client's footer), so the
 * caller can stream the body to a temp file meanwhile. The first problem throws XetFormatError
 * (and every later call rethrows it): a bad chunk header or limit from the `push` that completes
 * it, a chunk that does not decode or hash from that `push` or the next call (see `deferDecode`).
 * Requires `await initXetHash()`. Built from xorb-parts.ts (scanner, per-chunk verification,
 * conclusion), which storage/xet/xorb-verify-pool.ts spreads over worker threads.
 *
 * @NOTE deferring the decode + hash lets it run while the caller's write of the same bytes is in
 * flight (ContentStore.putKeyed calls `push` and then starts the write): the main thread would
 * otherwise sit idle for every write, a third of the ingest time measured by bench/xet.mjs.
 */
export class XorbVerifier {
  private readonly defer: boolean
  private readonly scanner: XorbScanner
  private readonly q = new ByteQueue()
  /** Bytes at the front of `q` already split into checked chunks (`pending`). */
  private scanned = 0
  private readonly pending: ScannedChunk[] = []
  private scheduled = false
  private readonly chunks: XorbChunk[] = []
  private failure: Error | null = null
  private done = false

  constructor(limits: XorbVerifierOptions = {}) {
    this.scanner = new XorbScanner(limits)
    this.defer = limits.deferDecode ?? true
  }

  /** Complete chunks received so far (headers checked; decoding and hashing may still be due). */
  get chunkCount(): number {
    return this.scanner.chunks
  }

  /** Bytes received so far. */
  get bytesReceived(): number {
    return this.scanner.received
  }

  /** Feeds the next body bytes; throws XetFormatError as soon as something is wrong. */
  push(bytes: Uint8Array): void {
    if (this.failure) throw this.failure
    if (this.done) throw new Error('XorbVerifier.push after finish')
    if (bytes.byteLength === 0) return
    try {
      this.scanner.add(bytes.byteLength)
      this.q.push(bytes)
      this.scanned = this.scanner.scan(this.q, this.scanned, this.pending)
      if (this.pending.length > 0) {
        if (!this.defer) this.verifyPending()
        else if (!this.scheduled) {
          this.scheduled = true
          queueMicrotask(this.runDeferred)
        }
      }
    } catch (err) {
      this.failure = err as Error
      throw err
    }
  }

  private readonly runDeferred = (): void => {
    this.scheduled = false
    if (this.failure || this.done) return
    try {
      this.verifyPending()
    } catch (err) {
      this.failure = err as Error
    }
  }

  /**
   * Ends the body: checks the trailing bytes, the chunk count and that the merkle hash equals
   * `expectedHashHex` (string form). Without it, the computed hash is returned unchecked.
   */
  finish(expectedHashHex?: string): XorbLayout {
    if (this.failure) throw this.failure
    if (this.done) throw new Error('XorbVerifier.finish called twice')
    this.done = true
    try {
      this.verifyPending()
      return concludeXorb(this.scanner, this.chunks, this.q.take(this.q.length), expectedHashHex)
    } catch (err) {
      this.failure = err as Error
      throw err
    }
  }

  /** Decompresses and hashes the checked chunks. */
  private verifyPending(): void {
    const pending = this.pending
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!
      // Transient: the payload is decoded (or, for scheme 0, hashed) before the next take.
      const bytes = this.q.take(p.packedLength, true)
      this.scanned -= p.packedLength
      const hash = verifyChunk(bytes, p.scheme, p.unpackedLength, this.chunks.length, p.packedOffset)
      this.chunks.push({ hash, ...p })
    }
    pending.length = 0
  }
}

/** One-shot verification of a whole xorb body (same checks as XorbVerifier). */
export function verifyXorb(buf: Uint8Array, expectedHashHex: string, limits?: XorbLimits): XorbLayout {
  const v = new XorbVerifier(limits)
  v.push(buf)
  return v.finish(expectedHashHex)
}

/**
 * Serializes chunks into a xorb (tests, bench). Like the clients, a chunk that the scheme does
 * not shrink is stored with scheme 0 unless `force`; `footer` appends an hf_xet < 1.1.4 V1 footer.
 */
export function buildXorb(chunks: readonly Uint8Array[], scheme: ChunkScheme, opts: { force?: boolean; footer?: boolean } = {}): { bytes: Buffer; layout: XorbLayout } {
  const parts: Buffer[] = []
  const layoutChunks: XorbChunk[] = []
  let packed = 0
  let unpacked = 0
  for (const data of chunks) {
    const enc = encodeChunk(data, scheme, opts.force)
    parts.push(enc.bytes)
    layoutChunks.push({ hash: chunkHash(data), packedOffset: packed, packedLength: enc.bytes.length, unpackedOffset: unpacked, unpackedLength: data.byteLength, scheme: enc.scheme })
    packed += enc.bytes.length
    unpacked += data.byteLength
  }
  const hash = xorbHash(layoutChunks.map((c) => ({ hash: c.hash, size: c.unpackedLength })))
  const layout: XorbLayout = { hash, chunks: layoutChunks, packedLength: packed, unpackedLength: unpacked }
  if (opts.footer) parts.push(xorbFooterV1(layout))
  return { bytes: Buffer.concat(parts), layout }
}

/** The V1 footer info + its u32 length (docs/xet-protocol.md §3.3), nonce zero. */
export function xorbFooterV1(layout: XorbLayout): Buffer {
  const n = layout.chunks.length
  const info = 92 + 40 * n
  const out = Buffer.alloc(info + 4)
  let o = FOOTER_IDENT.copy(out, 0)
  out[o++] = 1
  o += layout.hash.copy(out, o)
  const hashesAt = o
  o += out.write('XBLBHSH', o, 'latin1')
  out[o++] = 0
  o = out.writeUInt32LE(n, o)
  for (const c of layout.chunks) o += c.hash.copy(out, o)
  const boundsAt = o
  o += out.write('XBLBBND', o, 'latin1')
  out[o++] = 1
  o = out.writeUInt32LE(n, o)
  for (const c of layout.chunks) o = out.writeUInt32LE(c.packedOffset + c.packedLength, o)
  for (const c of layout.chunks) o = out.writeUInt32LE(c.unpackedOffset + c.unpackedLength, o)
  o = out.writeUInt32LE(n, o)
  o = out.writeUInt32LE(info - hashesAt, o)
  o = out.writeUInt32LE(info - boundsAt, o)
  o += 16
  out.writeUInt32LE(info, o)
  return out
}
