/**
 * BG4 regroup (docs/xet-protocol.md §3.2) with WebAssembly SIMD: 64 output bytes per loop step from 16 bytes of
 * each plane, 8 byte shuffles. The module is small enough to be written out here, instruction by
 * instruction, instead of shipping a binary.
 *
 * @NOTE the plain JS loop regroups at ~0.4–1 GB/s here, slower than it takes to hash the
 * same bytes; this runs at memory-copy speed. Used for chunks up to 128 KiB (the protocol's
 * maximum); returns false (caller falls back to JS) when WebAssembly SIMD is unavailable.
 */

// Layout in the module's memory: plane k at k·P (P = plane stride, a multiple of 16 ≥ q + 1),
// output at 4·P. 6 pages hold 4 planes and the output of a 128 KiB chunk with padding.
const PAGES = 6
const MAX_N = 131_072

const lo = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23] // bytes 0–7 of two vectors, interleaved
const hi = lo.map((x) => x + 8) // bytes 8–15
const lo16 = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23] // 16-bit pairs 0–3, interleaved
const hi16 = lo16.map((x) => x + 8) // pairs 4–7

// Opcodes (WebAssembly core + SIMD).
const GET = 0x20
const SET = 0x21
const I32_CONST = 0x41
const ADD = 0x6a
const MUL = 0x6c
const SHL = 0x74
const GE_U = 0x4f
const LOAD = [0xfd, 0x00, 0x00, 0x00] // v128.load align=1 offset=0
const STORE = (offset: number): number[] => [0xfd, 0x0b, 0x00, offset] // v128.store align=1 offset<128
const SHUFFLE = (lanes: number[]): number[] => [0xfd, 0x0d, ...lanes]

// run(P, groups): params 0 P, 1 groups; i32 locals 2 i (plane offset), 3 o (output offset), 4 end;
// v128 locals 5 a, 6 b, 7 c, 8 d, 9 ab, 10 cd.
const body = [
  0x02, 0x03, 0x7f, 0x06, 0x7b, // locals: 2 entries, 3 × i32 and 6 × v128
  GET, 0, I32_CONST, 2, SHL, SET, 3, // o = P << 2
  GET, 1, I32_CONST, 4, SHL, SET, 4, // end = groups << 4
  0x02, 0x40, 0x03, 0x40, // block, loop
  GET, 2, GET, 4, GE_U, 0x0d, 1, // if (i >= end) break
  GET, 2, ...LOAD, SET, 5,
  GET, 2, GET, 0, ADD, ...LOAD, SET, 6,
  GET, 2, GET, 0, I32_CONST, 1, SHL, ADD, ...LOAD, SET, 7,
  GET, 2, GET, 0, I32_CONST, 3, MUL, ADD, ...LOAD, SET, 8,
  GET, 5, GET, 6, ...SHUFFLE(lo), SET, 9,
  GET, 7, GET, 8, ...SHUFFLE(lo), SET, 10,
  GET, 3, GET, 9, GET, 10, ...SHUFFLE(lo16), ...STORE(0),
  GET, 3, GET, 9, GET, 10, ...SHUFFLE(hi16), ...STORE(16),
  GET, 5, GET, 6, ...SHUFFLE(hi), SET, 9,
  GET, 7, GET, 8, ...SHUFFLE(hi), SET, 10,
  GET, 3, GET, 9, GET, 10, ...SHUFFLE(lo16), ...STORE(32),
  GET, 3, GET, 9, GET, 10, ...SHUFFLE(hi16), ...STORE(48),
  GET, 2, I32_CONST, 16, ADD, SET, 2, // i += 16
  GET, 3, I32_CONST, 0xc0, 0x00, ADD, SET, 3, // o += 64 (signed LEB128)
  0x0c, 0, // continue
  0x0b, 0x0b, 0x0b, // end loop, end block, end function
]

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}
const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content]
const name = (s: string): number[] => [s.length, ...Buffer.from(s, 'latin1')]

const moduleBytes = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]), // type 0: (i32, i32) → ()
  ...section(3, [1, 0]), // function 0 has type 0
  ...section(5, [1, 0x00, PAGES]), // memory 0: PAGES pages
  ...section(7, [2, ...name('mem'), 0x02, 0, ...name('run'), 0x00, 0]),
  ...section(10, [1, ...uleb(body.length), ...body]),
])

interface Regrouper {
  mem: Uint8Array
  run: (stride: number, groups: number) => void
}

function instantiate(): Regrouper | null {
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes))
    const exports = instance.exports as { mem: WebAssembly.Memory; run: (stride: number, groups: number) => void }
    return { mem: new Uint8Array(exports.mem.buffer), run: exports.run }
  } catch {
    return null
  }
}

const wasm = instantiate()

/** Whether the SIMD regrouper is available (WebAssembly SIMD supported). */
export const bg4WasmAvailable = wasm !== null

/**
 * Regroups the 4 planes of `planes` (n ≤ 128 KiB bytes) into `out` (n bytes; may be the same
 * memory). Returns false, touching nothing, when it cannot (no SIMD, or n too large).
 */
export function bg4RegroupWasm(planes: Uint8Array, out: Uint8Array): boolean {
  const n = planes.byteLength
  if (!wasm || n > MAX_N || out.byteLength < n) return false
  const q = n >>> 2
  const r = n & 3
  const s1 = q + (r > 0 ? 1 : 0)
  const s2 = s1 + q + (r > 1 ? 1 : 0)
  const s3 = s2 + q + (r > 2 ? 1 : 0)
  // Positions 0..q (the one past q only for planes k < r) in groups of 16.
  const groups = (q + 16) >>> 4
  const stride = groups * 16
  const mem = wasm.mem
  mem.set(planes.subarray(0, s1), 0)
  mem.set(planes.subarray(s1, s2), stride)
  mem.set(planes.subarray(s2, s3), 2 * stride)
  mem.set(planes.subarray(s3, n), 3 * stride)
  wasm.run(stride, groups)
  out.set(mem.subarray(4 * stride, 4 * stride + n))
  return true
}
