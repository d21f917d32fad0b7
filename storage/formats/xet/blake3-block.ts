/**
 * Keyed BLAKE3 of a message of at most 64 bytes (one block of one chunk), in plain JS.
 *
 * @NOTE hash-wasm binds a key when a hasher is created (async, one WASM instance each), but the
 * dedup HMAC (docs/xet-protocol.md §4.5) takes a fresh random key per answer shard and the file-hash salts vary
 * too. Those messages are always one 32-byte hash, so a single compression call is all BLAKE3
 * needs: synchronous, allocation-light, and cross-checked against hash-wasm in the tests.
 */

const IV = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
const CHUNK_START = 1
const CHUNK_END = 2
const ROOT = 8
const KEYED_HASH = 16
const PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]

const v = new Uint32Array(16)
const m = new Uint32Array(16)
const tmp = new Uint32Array(16)

function g(a: number, b: number, c: number, d: number, x: number, y: number): void {
  v[a] = (v[a]! + v[b]! + x) | 0
  let t = v[d]! ^ v[a]!
  v[d] = (t >>> 16) | (t << 16)
  v[c] = (v[c]! + v[d]!) | 0
  t = v[b]! ^ v[c]!
  v[b] = (t >>> 12) | (t << 20)
  v[a] = (v[a]! + v[b]! + y) | 0
  t = v[d]! ^ v[a]!
  v[d] = (t >>> 8) | (t << 24)
  v[c] = (v[c]! + v[d]!) | 0
  t = v[b]! ^ v[c]!
  v[b] = (t >>> 7) | (t << 25)
}

function round(): void {
  g(0, 4, 8, 12, m[0]!, m[1]!)
  g(1, 5, 9, 13, m[2]!, m[3]!)
  g(2, 6, 10, 14, m[4]!, m[5]!)
  g(3, 7, 11, 15, m[6]!, m[7]!)
  g(0, 5, 10, 15, m[8]!, m[9]!)
  g(1, 6, 11, 12, m[10]!, m[11]!)
  g(2, 7, 8, 13, m[12]!, m[13]!)
  g(3, 4, 9, 14, m[14]!, m[15]!)
}

function readWordsLE(src: Uint8Array, dst: Uint32Array, words: number): void {
  for (let i = 0; i < words; i++) {
    const o = i * 4
    dst[i] = (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0
  }
}

/** keyed_blake3(key, message) for a 32-byte key and a message of 0..64 bytes; 32-byte output. */
export function keyedBlake3Block(key: Uint8Array, message: Uint8Array): Buffer {
  if (key.byteLength !== 32) throw new RangeError(`BLAKE3 key must be 32 bytes, got ${key.byteLength}`)
  if (message.byteLength > 64) throw new RangeError(`single-block BLAKE3 takes at most 64 bytes, got ${message.byteLength}`)
  const block = new Uint8Array(64)
  block.set(message)
  readWordsLE(key, tmp, 8)
  readWordsLE(block, m, 16)
  for (let i = 0; i < 8; i++) v[i] = tmp[i]!
  for (let i = 0; i < 4; i++) v[8 + i] = IV[i]!
  v[12] = 0 // counter low
  v[13] = 0 // counter high
  v[14] = message.byteLength
  v[15] = CHUNK_START | CHUNK_END | ROOT | KEYED_HASH
  for (let r = 0; r < 7; r++) {
    round()
    if (r < 6) {
      for (let i = 0; i < 16; i++) tmp[i] = m[PERMUTATION[i]!]!
      m.set(tmp)
    }
  }
  const out = Buffer.allocUnsafe(32)
  for (let i = 0; i < 8; i++) out.writeUInt32LE((v[i]! ^ v[i + 8]!) >>> 0, i * 4)
  return out
}
