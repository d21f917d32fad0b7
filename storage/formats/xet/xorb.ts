/**
 * Xorb verification and building (spec 3.3, 5.1). The body is never trusted: every chunk is
 * decompressed and hashed, the merkle root must equal the hash the client named, and an old
 * client's trailing footer is only length-checked and stripped.
 */
import { CHUNK_HEADER_SIZE, type ChunkScheme, checkChunkHeader, decodeChunkHeader, decodeChunkPayload, encodeChunk } from './chunk-codec.js'
import { ByteQueue } from './byte-queue.js'
import { XetFormatError } from './errors.js'
import { chunkHash, hashFromHex, hashToHex, isXetHashHex, xorbHash } from './hash.js'

export interface XorbChunk {
  hash: Buffer
  /** Offset of the chunk header from the xorb start. */
  packedOffset: number
  /** Header + payload bytes. */
  packedLength: number
  unpackedOffset: number
  unpackedLength: number
  scheme: number
}

export interface XorbLayout {
  hash: Buffer
  chunks: XorbChunk[]
  /** Bytes of chunk data (the footer, if any, excluded): what to store. */
  packedLength: number
  unpackedLength: number
}

export interface XorbLimits {
  /** Default 8192 (MAX_XORB_CHUNKS). */
  maxChunks?: number
  /** Default 64 MiB (MAX_XORB_BYTES). */
  maxUnpackedBytes?: number
  /** Whole body incl. footer; default 64 MiB + 8 bytes per chunk + the largest V1 footer. */
  maxBodyBytes?: number
}

export const MAX_XORB_CHUNKS = 8192
export const MAX_XORB_UNPACKED = 64 * 1024 * 1024
/** Largest V1 footer (info + its u32 length) for `chunks` chunks. */
export const xorbFooterMax = (chunks: number): number => 92 + 40 * chunks + 4
/** Spec 4.7's safe body limit (≈ 64.4 MiB). */
export const MAX_XORB_BODY = MAX_XORB_UNPACKED + CHUNK_HEADER_SIZE * MAX_XORB_CHUNKS + xorbFooterMax(MAX_XORB_CHUNKS)

const FOOTER_IDENT = Buffer.from('XETBLOB', 'latin1')
const X = 0x58

export interface XorbVerifierOptions extends XorbLimits {
  /**
   * Decompress and hash complete chunks in a microtask after `push` returns rather than inside it
   * (default true); `finish` catches up synchronously. Header and limit checks stay in `push`.
   */
  deferDecode?: boolean
}

/** A chunk whose header and size have been checked, waiting to be decoded and hashed. */
interface PendingChunk {
  packedLength: number
  scheme: number
  uncompressedLength: number
}

/**
 * Incremental xorb verifier: `push` body bytes as they arrive (any split), then `finish` with the
 * hash from the URL. Holds at most the chunks not yet verified (and an old client's footer), so the
 * caller can stream the body to a temp file meanwhile. The first problem throws XetFormatError
 * (and every later call rethrows it): a bad chunk header or limit from the `push` that completes
 * it, a chunk that does not decode or hash from that `push` or the next call (see `deferDecode`).
 * Requires `await initXetHash()`.
 *
 * @NOTE deferring the decode + hash lets it run while the caller's write of the same bytes is in
 * flight (FsBlobStore.putKeyed calls `push` and then starts the write): the main thread would
 * otherwise sit idle for every write, a third of the ingest time measured by bench/xet.mjs.
 */
export class XorbVerifier {
  private readonly maxChunks: number
  private readonly maxUnpacked: number
  private readonly maxBody: number
  private readonly defer: boolean
  private readonly q = new ByteQueue()
  private received = 0
  /** Bytes at the front of `q` already split into checked chunks (`pending`). */
  private scanned = 0
  private scannedUnpacked = 0
  private readonly pending: PendingChunk[] = []
  private scheduled = false
  private unpacked = 0
  private readonly chunks: XorbChunk[] = []
  private inFooter = false
  private failure: Error | null = null
  private done = false
  private readonly hdr = Buffer.allocUnsafe(CHUNK_HEADER_SIZE)

  constructor(limits: XorbVerifierOptions = {}) {
    this.maxChunks = limits.maxChunks ?? MAX_XORB_CHUNKS
    this.maxUnpacked = limits.maxUnpackedBytes ?? MAX_XORB_UNPACKED
    this.maxBody = limits.maxBodyBytes ?? this.maxUnpacked + CHUNK_HEADER_SIZE * this.maxChunks + xorbFooterMax(this.maxChunks)
    this.defer = limits.deferDecode ?? true
  }

  /** Complete chunks received so far (headers checked; decoding and hashing may still be due). */
  get chunkCount(): number {
    return this.chunks.length + this.pending.length
  }

  /** Bytes received so far. */
  get bytesReceived(): number {
    return this.received
  }

  /** Feeds the next body bytes; throws XetFormatError as soon as something is wrong. */
  push(bytes: Uint8Array): void {
    if (this.failure) throw this.failure
    if (this.done) throw new Error('XorbVerifier.push after finish')
    if (bytes.byteLength === 0) return
    try {
      this.received += bytes.byteLength
      if (this.received > this.maxBody) throw new XetFormatError(`xorb body exceeds ${this.maxBody} bytes`)
      this.q.push(bytes)
      if (this.inFooter) this.checkFooterSize()
      else this.scan()
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
      return this.conclude(expectedHashHex)
    } catch (err) {
      this.failure = err as Error
      throw err
    }
  }

  private conclude(expectedHashHex: string | undefined): XorbLayout {
    if (this.inFooter) {
      const footer = this.q.take(this.q.length)
      if (footer.length < FOOTER_IDENT.length + 4 || !footer.subarray(0, FOOTER_IDENT.length).equals(FOOTER_IDENT)) {
        throw new XetFormatError(`unexpected bytes after chunk ${this.chunks.length - 1} at byte ${this.q.consumed - footer.length} (not a chunk header nor a XETBLOB footer)`)
      }
      const infoLength = footer.readUInt32LE(footer.length - 4)
      if (infoLength + 4 !== footer.length) {
        throw new XetFormatError(`xorb footer length field says ${infoLength} + 4 bytes but ${footer.length} bytes follow the chunks`)
      }
    } else if (this.q.length > 0) {
      throw new XetFormatError(`xorb truncated: ${this.q.length} trailing bytes at byte ${this.q.consumed} do not form a complete chunk`)
    }
    if (this.chunks.length === 0) throw new XetFormatError('xorb has no chunks')
    const hash = xorbHash(this.chunks.map((c) => ({ hash: c.hash, size: c.unpackedLength })))
    if (expectedHashHex !== undefined) {
      if (!isXetHashHex(expectedHashHex)) throw new XetFormatError(`xorb hash ${JSON.stringify(expectedHashHex.slice(0, 80))} is not 64 hex digits`)
      if (!hash.equals(hashFromHex(expectedHashHex))) {
        throw new XetFormatError(`xorb content hashes to ${hashToHex(hash)}, not ${expectedHashHex.toLowerCase()}`)
      }
    }
    const last = this.chunks[this.chunks.length - 1]!
    return { hash, chunks: this.chunks, packedLength: last.packedOffset + last.packedLength, unpackedLength: this.unpacked }
  }

  private checkFooterSize(): void {
    const max = xorbFooterMax(this.maxChunks)
    if (this.q.length - this.scanned > max) throw new XetFormatError(`xorb footer longer than ${max} bytes`)
  }

  /** Splits the bytes after `scanned` into chunks, checking each header and the limits. */
  private scan(): void {
    const q = this.q
    const hdr = this.hdr
    for (;;) {
      const avail = q.length - this.scanned
      if (avail === 0) return
      const index = this.chunks.length + this.pending.length
      if (q.at(this.scanned) === X) {
        // @NOTE a header starts with version 0, never 'X': the chunk list is over (old client footer).
        if (index === 0) throw new XetFormatError('xorb starts with a footer: no chunks')
        this.inFooter = true
        this.checkFooterSize()
        return
      }
      if (avail < CHUNK_HEADER_SIZE) return
      q.peek(hdr, this.scanned)
      const h = decodeChunkHeader(hdr)
      checkChunkHeader(h, `chunk ${index} at byte ${q.consumed + this.scanned}`)
      if (index + 1 > this.maxChunks) throw new XetFormatError(`xorb has more than ${this.maxChunks} chunks`)
      if (this.scannedUnpacked + h.uncompressedLength > this.maxUnpacked) throw new XetFormatError(`xorb unpacks to more than ${this.maxUnpacked} bytes`)
      const packedLength = CHUNK_HEADER_SIZE + h.compressedLength
      if (avail < packedLength) return
      this.pending.push({ packedLength, scheme: h.scheme, uncompressedLength: h.uncompressedLength })
      this.scanned += packedLength
      this.scannedUnpacked += h.uncompressedLength
    }
  }

  /** Decompresses and hashes the checked chunks. */
  private verifyPending(): void {
    const pending = this.pending
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!
      const packedOffset = this.q.consumed
      // Transient: the payload is decoded (or, for scheme 0, hashed) before the next take.
      const chunk = this.q.take(p.packedLength, true)
      this.scanned -= p.packedLength
      let data: Buffer
      try {
        data = decodeChunkPayload(p.scheme, chunk.subarray(CHUNK_HEADER_SIZE), p.uncompressedLength)
      } catch (err) {
        if (err instanceof XetFormatError) err.message = `chunk ${this.chunks.length} at byte ${packedOffset}: ${err.message}`
        throw err
      }
      this.chunks.push({
        hash: chunkHash(data),
        packedOffset,
        packedLength: p.packedLength,
        unpackedOffset: this.unpacked,
        unpackedLength: p.uncompressedLength,
        scheme: p.scheme,
      })
      this.unpacked += p.uncompressedLength
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

/** The V1 footer info + its u32 length (spec 3.3), nonce zero. */
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
