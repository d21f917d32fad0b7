/**
 * The parts of xorb verification (docs/xet-protocol.md §3.3, §5.1), split so that the cheap, sequential part
 * (`XorbScanner`: chunk headers, limits, footer detection, chunk boundaries; `concludeXorb`:
 * trailing bytes, chunk count, merkle root) can run where the bytes arrive while the costly part
 * (`verifyChunks`: decompress + keyed BLAKE3 of complete chunks) runs on any thread, runs of
 * chunks in parallel. `XorbVerifier` (xorb.ts) puts them together on one thread.
 */
import { CHUNK_HEADER_SIZE, checkChunkHeader, decodeChunkHeader, decodeChunkPayload } from './chunk-codec.js'
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

/** A complete chunk whose header and limits have been checked; not decoded nor hashed yet. */
export type ScannedChunk = Omit<XorbChunk, 'hash'>

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

export const FOOTER_IDENT = Buffer.from('XETBLOB', 'latin1')
const X = 0x58

/** What the scanner reads: `length` bytes, addressed from the scan origin (ByteQueue fits). */
export interface ScanSource {
  readonly length: number
  at(offset: number): number | undefined
  /** Copies `dst.length` bytes starting at `offset` (the caller checked they are there). */
  peek(dst: Buffer, offset: number): void
}

/** A contiguous buffer as a ScanSource (the first `length` bytes of `buf`). */
export class BufferSource implements ScanSource {
  constructor(
    public buf: Uint8Array,
    public length: number,
  ) {}

  at(offset: number): number | undefined {
    return offset < this.length ? this.buf[offset] : undefined
  }

  peek(dst: Buffer, offset: number): void {
    dst.set(this.buf.subarray(offset, offset + dst.length))
  }
}

/**
 * Finds a streamed xorb's chunk boundaries and checks everything that needs no decoding: each
 * chunk header (docs/xet-protocol.md §5.1 step 3), the chunk count, unpacked and body size limits, and an old
 * client's footer (it starts where a header would, with 'X'; only its size is limited here).
 * Errors are XetFormatError, naming the chunk ("chunk N at byte X: …").
 */
export class XorbScanner {
  readonly maxChunks: number
  readonly maxUnpacked: number
  readonly maxBody: number
  /** Complete chunks scanned. */
  chunks = 0
  /** Their unpacked bytes. */
  unpacked = 0
  /** Stream offset after them: where the next chunk, or the footer, starts. */
  offset = 0
  /** Body bytes counted by `add`. */
  received = 0
  /** The chunk list has ended; the bytes from `offset` on are a footer. */
  inFooter = false
  private readonly hdr = Buffer.allocUnsafe(CHUNK_HEADER_SIZE)

  constructor(limits: XorbLimits = {}) {
    this.maxChunks = limits.maxChunks ?? MAX_XORB_CHUNKS
    this.maxUnpacked = limits.maxUnpackedBytes ?? MAX_XORB_UNPACKED
    this.maxBody = limits.maxBodyBytes ?? this.maxUnpacked + CHUNK_HEADER_SIZE * this.maxChunks + xorbFooterMax(this.maxChunks)
  }

  /** Counts `n` more body bytes (call before scanning them): body and footer size limits. */
  add(n: number): void {
    this.received += n
    if (this.received > this.maxBody) throw new XetFormatError(`xorb body exceeds ${this.maxBody} bytes`)
    if (this.inFooter) this.checkFooterSize()
  }

  /**
   * Splits `src` from `from` (which must be at stream offset `this.offset`) into complete chunks,
   * appending them to `out`; returns the source offset of the first incomplete chunk (or of the
   * footer). Headers and limits are checked as soon as a header is there, complete chunk or not.
   */
  scan(src: ScanSource, from: number, out: ScannedChunk[]): number {
    if (this.inFooter) return from
    const hdr = this.hdr
    let pos = from
    for (;;) {
      const avail = src.length - pos
      if (avail === 0) return pos
      const index = this.chunks
      if (src.at(pos) === X) {
        // @NOTE a header starts with version 0, never 'X': the chunk list is over (old client footer).
        if (index === 0) throw new XetFormatError('xorb starts with a footer: no chunks')
        this.inFooter = true
        this.checkFooterSize()
        return pos
      }
      if (avail < CHUNK_HEADER_SIZE) return pos
      src.peek(hdr, pos)
      const h = decodeChunkHeader(hdr)
      checkChunkHeader(h, `chunk ${index} at byte ${this.offset}`)
      if (index + 1 > this.maxChunks) throw new XetFormatError(`xorb has more than ${this.maxChunks} chunks`)
      if (this.unpacked + h.uncompressedLength > this.maxUnpacked) throw new XetFormatError(`xorb unpacks to more than ${this.maxUnpacked} bytes`)
      const packedLength = CHUNK_HEADER_SIZE + h.compressedLength
      if (avail < packedLength) return pos
      out.push({ packedOffset: this.offset, packedLength, unpackedOffset: this.unpacked, unpackedLength: h.uncompressedLength, scheme: h.scheme })
      this.chunks++
      this.offset += packedLength
      this.unpacked += h.uncompressedLength
      pos += packedLength
    }
  }

  private checkFooterSize(): void {
    const max = xorbFooterMax(this.maxChunks)
    if (this.received - this.offset > max) throw new XetFormatError(`xorb footer longer than ${max} bytes`)
  }
}

/**
 * Decodes and hashes one complete chunk (`packed`: its header + payload, header already checked);
 * `index` and `offset` name it in the XetFormatError when the payload does not decode.
 */
export function verifyChunk(packed: Uint8Array, scheme: number, uncompressedLength: number, index: number, offset: number): Buffer {
  let data: Buffer
  try {
    data = decodeChunkPayload(scheme, packed.subarray(CHUNK_HEADER_SIZE), uncompressedLength)
  } catch (err) {
    if (err instanceof XetFormatError) err.message = `chunk ${index} at byte ${offset}: ${err.message}`
    throw err
  }
  return chunkHash(data)
}

/**
 * Decodes and hashes a run of `count` complete chunks laid end to end in `bytes` (nothing else),
 * the first being chunk `firstIndex` at stream offset `firstOffset`; returns their 32-byte hashes
 * back to back. Throws XetFormatError for the first chunk that does not decode (same message as
 * XorbVerifier). Headers are read again from `bytes` and checked. Requires `await initXetHash()`.
 */
export function verifyChunks(bytes: Uint8Array, count: number, firstIndex: number, firstOffset: number): Uint8Array {
  const out = new Uint8Array(32 * count)
  let pos = 0
  for (let i = 0; i < count; i++) {
    const h = decodeChunkHeader(bytes, pos)
    checkChunkHeader(h, `chunk ${firstIndex + i} at byte ${firstOffset + pos}`)
    const end = pos + CHUNK_HEADER_SIZE + h.compressedLength
    if (end > bytes.byteLength) throw new RangeError(`verifyChunks: chunk ${firstIndex + i} runs past the ${bytes.byteLength} bytes given`)
    out.set(verifyChunk(bytes.subarray(pos, end), h.scheme, h.uncompressedLength, firstIndex + i, firstOffset + pos), 32 * i)
    pos = end
  }
  if (pos !== bytes.byteLength) throw new RangeError(`verifyChunks: ${bytes.byteLength - pos} bytes after chunk ${firstIndex + count - 1}`)
  return out
}

/**
 * The end of a xorb body, once every chunk is verified (`chunks`, in order, with their hashes):
 * `trailing` (the bytes after the last complete chunk) must be empty or a XETBLOB footer whose
 * length field fits, there must be chunks, and the merkle root must equal `expectedHashHex`
 * (string form; unchecked when undefined). XetFormatError otherwise.
 */
export function concludeXorb(scanner: XorbScanner, chunks: XorbChunk[], trailing: Buffer, expectedHashHex: string | undefined): XorbLayout {
  if (scanner.inFooter) {
    const footer = trailing
    if (footer.length < FOOTER_IDENT.length + 4 || !footer.subarray(0, FOOTER_IDENT.length).equals(FOOTER_IDENT)) {
      throw new XetFormatError(`unexpected bytes after chunk ${chunks.length - 1} at byte ${scanner.offset} (not a chunk header nor a XETBLOB footer)`)
    }
    const infoLength = footer.readUInt32LE(footer.length - 4)
    if (infoLength + 4 !== footer.length) {
      throw new XetFormatError(`xorb footer length field says ${infoLength} + 4 bytes but ${footer.length} bytes follow the chunks`)
    }
  } else if (trailing.length > 0) {
    throw new XetFormatError(`xorb truncated: ${trailing.length} trailing bytes at byte ${scanner.offset} do not form a complete chunk`)
  }
  if (chunks.length === 0) throw new XetFormatError('xorb has no chunks')
  const hash = xorbHash(chunks.map((c) => ({ hash: c.hash, size: c.unpackedLength })))
  if (expectedHashHex !== undefined) {
    if (!isXetHashHex(expectedHashHex)) throw new XetFormatError(`xorb hash ${JSON.stringify(expectedHashHex.slice(0, 80))} is not 64 hex digits`)
    if (!hash.equals(hashFromHex(expectedHashHex))) {
      throw new XetFormatError(`xorb content hashes to ${hashToHex(hash)}, not ${expectedHashHex.toLowerCase()}`)
    }
  }
  const last = chunks[chunks.length - 1]!
  return { hash, chunks, packedLength: last.packedOffset + last.packedLength, unpackedLength: scanner.unpacked }
}
