/**
 * Xet chunk header (docs/xet-protocol.md §3.1) and payload compression schemes (3.2): 0 none, 1 LZ4 frame,
 * 2 ByteGrouping4 + LZ4 frame.
 */
import { compressFrameSync } from 'lz4-napi'
import { bg4Regroup, bg4RegroupInPlace, bg4Split } from './bg4.js'
import { XetFormatError } from './errors.js'
import { decodeLz4Frames } from './lz4-frame.js'

export const CHUNK_HEADER_SIZE = 8
/** Largest unpacked chunk the Rust reader accepts (128 KiB). */
export const MAX_CHUNK_UNPACKED = 131_072
/** Largest payload the Rust reader accepts (256 KiB). */
export const MAX_CHUNK_PAYLOAD = 262_144

export const SCHEME_NONE = 0
export const SCHEME_LZ4 = 1
export const SCHEME_BG4_LZ4 = 2
export type ChunkScheme = 0 | 1 | 2

export interface ChunkHeader {
  version: number
  /** Payload length in bytes (u24). */
  compressedLength: number
  scheme: number
  /** Decompressed length in bytes (u24). */
  uncompressedLength: number
}

/** Reads the 8 header bytes at `offset` without judging them (see `checkChunkHeader`). */
export function decodeChunkHeader(buf: Uint8Array, offset = 0): ChunkHeader {
  if (offset + CHUNK_HEADER_SIZE > buf.byteLength) throw new XetFormatError(`chunk header truncated at byte ${offset}`)
  return {
    version: buf[offset]!,
    compressedLength: buf[offset + 1]! | (buf[offset + 2]! << 8) | (buf[offset + 3]! << 16),
    scheme: buf[offset + 4]!,
    uncompressedLength: buf[offset + 5]! | (buf[offset + 6]! << 8) | (buf[offset + 7]! << 16),
  }
}

/** Throws XetFormatError unless the header is one a server accepts (docs/xet-protocol.md §5.1 step 3). `where` names the chunk. */
export function checkChunkHeader(h: ChunkHeader, where: string): void {
  if (h.version !== 0) throw new XetFormatError(`${where}: chunk header version ${h.version} (expected 0)`)
  if (h.scheme > 2) throw new XetFormatError(`${where}: unknown compression scheme ${h.scheme}`)
  if (h.uncompressedLength < 1 || h.uncompressedLength > MAX_CHUNK_UNPACKED) {
    throw new XetFormatError(`${where}: uncompressed length ${h.uncompressedLength} outside 1..${MAX_CHUNK_UNPACKED}`)
  }
  if (h.compressedLength > MAX_CHUNK_PAYLOAD) throw new XetFormatError(`${where}: payload length ${h.compressedLength} exceeds ${MAX_CHUNK_PAYLOAD}`)
  if (h.scheme === SCHEME_NONE && h.compressedLength !== h.uncompressedLength) {
    throw new XetFormatError(`${where}: uncompressed chunk with payload length ${h.compressedLength} ≠ uncompressed length ${h.uncompressedLength}`)
  }
}

/** Writes an 8-byte chunk header (into `target` at `offset` if given). */
export function encodeChunkHeader(h: Omit<ChunkHeader, 'version'> & { version?: number }, target?: Buffer, offset = 0): Buffer {
  const out = target ?? Buffer.allocUnsafe(CHUNK_HEADER_SIZE)
  const o = target ? offset : 0
  if (h.compressedLength > 0xffffff || h.uncompressedLength > 0xffffff) throw new RangeError('chunk lengths are u24')
  out[o] = h.version ?? 0
  out.writeUIntLE(h.compressedLength, o + 1, 3)
  out[o + 4] = h.scheme
  out.writeUIntLE(h.uncompressedLength, o + 5, 3)
  return out
}

/**
 * Decodes a chunk payload; the result is exactly `uncompressedLen` bytes, else XetFormatError
 * (garbage, truncated frame, wrong length, unknown scheme).
 */
export function decodeChunkPayload(scheme: number, payload: Uint8Array, uncompressedLen: number): Buffer {
  switch (scheme) {
    case SCHEME_NONE:
      if (payload.byteLength !== uncompressedLen) {
        throw new XetFormatError(`uncompressed payload is ${payload.byteLength} bytes, header says ${uncompressedLen}`)
      }
      return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    case SCHEME_LZ4:
      return decodeLz4Frames(payload, uncompressedLen)
    case SCHEME_BG4_LZ4: {
      const planes = decodeLz4Frames(payload, uncompressedLen)
      // @NOTE the decoder's output is a fresh buffer, regrouped in place (no allocation), except
      // when a frame stored its one block uncompressed: then it is a view of the caller's payload.
      return planes.buffer === payload.buffer ? bg4Regroup(planes) : bg4RegroupInPlace(planes)
    }
    default:
      throw new XetFormatError(`unknown compression scheme ${scheme}`)
  }
}

/** Encodes a chunk payload with the given scheme (always that scheme, even if it grows the data). */
export function encodeChunkPayload(scheme: ChunkScheme, data: Uint8Array): Buffer {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  switch (scheme) {
    case SCHEME_NONE:
      return Buffer.from(buf)
    case SCHEME_LZ4:
      return compressFrameSync(buf)
    case SCHEME_BG4_LZ4:
      return compressFrameSync(bg4Split(buf))
    default:
      throw new RangeError(`unknown compression scheme ${String(scheme)}`)
  }
}

/**
 * Header + payload of one chunk. Like the clients, falls back to scheme 0 when the requested
 * compression does not make the payload strictly smaller (unless `force`).
 */
export function encodeChunk(data: Uint8Array, scheme: ChunkScheme, force = false): { bytes: Buffer; scheme: ChunkScheme } {
  if (data.byteLength < 1 || data.byteLength > MAX_CHUNK_UNPACKED) throw new RangeError(`chunk length ${data.byteLength} outside 1..${MAX_CHUNK_UNPACKED}`)
  let payload = encodeChunkPayload(scheme, data)
  let used = scheme
  if (!force && scheme !== SCHEME_NONE && payload.length >= data.byteLength) {
    payload = encodeChunkPayload(SCHEME_NONE, data)
    used = SCHEME_NONE
  }
  const bytes = Buffer.allocUnsafe(CHUNK_HEADER_SIZE + payload.length)
  encodeChunkHeader({ compressedLength: payload.length, scheme: used, uncompressedLength: data.byteLength }, bytes, 0)
  payload.copy(bytes, CHUNK_HEADER_SIZE)
  return { bytes, scheme: used }
}
