/**
 * ByteGrouping4 (docs/xet-protocol.md §3.2, scheme 2): split a chunk into its 4 byte planes and back. Plane k holds
 * the bytes at positions 4i + k and has `q + 1` bytes when k < n mod 4, else `q` (q = n div 4).
 *
 * @NOTE regrouping is on the hot path of every BG4 chunk (verification and reconstruction) and
 * was slower than hashing the same bytes: a fresh output buffer per chunk (first touch of new
 * memory costs more than the loop) and a per-byte loop. Chunks up to 128 KiB go through the
 * WebAssembly SIMD regrouper (bg4-wasm.ts, ~6 GB/s); otherwise the planes are copied (4 memcpy)
 * into a reused scratch where each plane starts on a word boundary and every 16 output bytes are
 * built from one u32 of each plane (~0.8 GB/s). `bg4RegroupInPlace` writes the result back over
 * the decoded buffer the caller owns, so nothing new is allocated.
 */
import { bg4RegroupWasm } from './bg4-wasm.js'

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

function planeStarts(n: number): [number, number, number, number] {
  const q = n >>> 2
  const r = n & 3
  const s1 = q + (r > 0 ? 1 : 0)
  const s2 = s1 + q + (r > 1 ? 1 : 0)
  const s3 = s2 + q + (r > 2 ? 1 : 0)
  return [0, s1, s2, s3]
}

/** Interleaved bytes → 4 concatenated planes. */
export function bg4Split(data: Uint8Array): Buffer {
  const n = data.byteLength
  const out = Buffer.allocUnsafe(n)
  const [, s1, s2, s3] = planeStarts(n)
  const q = n >>> 2
  for (let i = 0, j = 0; i < q; i++, j += 4) {
    out[i] = data[j]!
    out[s1 + i] = data[j + 1]!
    out[s2 + i] = data[j + 2]!
    out[s3 + i] = data[j + 3]!
  }
  const r = n & 3
  const base = q * 4
  if (r > 0) out[q] = data[base]!
  if (r > 1) out[s1 + q] = data[base + 1]!
  if (r > 2) out[s2 + q] = data[base + 2]!
  return out
}

// Word-aligned copy of the 4 planes (grown on demand; a chunk is at most 128 KiB).
let scratchWords = new Uint32Array(4 * ((131_072 >>> 4) + 1))
let scratchBytes = new Uint8Array(scratchWords.buffer)

/**
 * Regroups `planes` (n bytes) into `out` (n bytes, may be the same memory as `planes`). The
 * planes are copied into the scratch first, so writing over them is safe.
 */
function regroupInto(planes: Uint8Array, out: Uint8Array): void {
  if (bg4RegroupWasm(planes, out)) return
  regroupJs(planes, out)
}

/** The JS regroup (exported for tests: both paths must agree). */
export function regroupJs(planes: Uint8Array, out: Uint8Array): void {
  const n = planes.byteLength
  const [, s1, s2, s3] = planeStarts(n)
  const q = n >>> 2
  const r = n & 3
  // Words per plane in the scratch: room for q + 1 bytes, rounded up to whole words.
  const pw = (q + 4) >>> 2
  if (scratchWords.length < 4 * pw) {
    scratchWords = new Uint32Array(4 * pw)
    scratchBytes = new Uint8Array(scratchWords.buffer)
  }
  const sw = scratchWords
  const sb = scratchBytes
  sb.set(planes.subarray(0, s1), 0)
  sb.set(planes.subarray(s1, s2), pw * 4)
  sb.set(planes.subarray(s2, s3), pw * 8)
  sb.set(planes.subarray(s3, n), pw * 12)
  const p1 = pw
  const p2 = 2 * pw
  const p3 = 3 * pw
  // Whole groups of 4 positions per plane → 16 output bytes (4 words).
  const groups = LITTLE_ENDIAN && (out.byteOffset & 3) === 0 ? q >>> 2 : 0
  if (groups > 0) {
    const w = new Uint32Array(out.buffer, out.byteOffset, groups * 4)
    for (let i = 0, o = 0; i < groups; i++, o += 4) {
      const a = sw[i]!
      const b = sw[p1 + i]!
      const c = sw[p2 + i]!
      const d = sw[p3 + i]!
      w[o] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (d << 24)
      w[o + 1] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((d & 0xff00) << 16)
      w[o + 2] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((d & 0xff0000) << 8)
      w[o + 3] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (d & 0xff000000)
    }
  }
  // The rest byte by byte (and everything on an unaligned or big-endian target).
  const b1 = pw * 4
  const b2 = pw * 8
  const b3 = pw * 12
  for (let i = groups * 4, j = groups * 16; i < q; i++, j += 4) {
    out[j] = sb[i]!
    out[j + 1] = sb[b1 + i]!
    out[j + 2] = sb[b2 + i]!
    out[j + 3] = sb[b3 + i]!
  }
  const base = q * 4
  if (r > 0) out[base] = sb[q]!
  if (r > 1) out[base + 1] = sb[b1 + q]!
  if (r > 2) out[base + 2] = sb[b2 + q]!
}

/** 4 concatenated planes → interleaved bytes, in a new buffer. */
export function bg4Regroup(planes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(planes.byteLength)
  regroupInto(planes, out)
  return out
}

/** 4 concatenated planes → interleaved bytes, written over `buf` (which the caller owns); returns `buf`. */
export function bg4RegroupInPlace(buf: Buffer): Buffer {
  regroupInto(buf, buf)
  return buf
}
