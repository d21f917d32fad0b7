/**
 * Xet hashing (spec section 4): keyed BLAKE3 chunk hashes, merkle aggregation into xorb and file
 * hashes, term verification hashes, the dedup "HMAC", and the string form of a hash (docs/xet-protocol.md §0.3).
 *
 * The WASM hashers are created once by `initXetHash()` (await it at startup and in every worker
 * thread); every other function is synchronous and throws if that was not done.
 */
import { createBLAKE3, type IHasher } from 'hash-wasm'
import { keyedBlake3Block } from './blake3-block.js'

const key = (bytes: number[]): Uint8Array => Uint8Array.from(bytes)
/** DATA_KEY: chunk hashes (4.1). */
export const DATA_KEY = key([102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28, 157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41])
/** INTERNAL_NODE_KEY: merkle nodes (4.2). */
export const INTERNAL_NODE_KEY = key([1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230, 93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63])
/** VERIFICATION_KEY: term range hashes (4.4). */
export const VERIFICATION_KEY = key([127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243, 164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195])
const ZERO_KEY = new Uint8Array(32)

/** The all-zero hash: empty xorb aggregation and the empty file's hash (4.3). */
export const ZERO_HASH: Buffer = Buffer.alloc(32)

interface Hashers {
  data: IHasher
  node: IHasher
  verification: IHasher
  zero: IHasher
}
let hashers: Hashers | null = null
let initializing: Promise<void> | null = null

/** Creates the WASM hashers once (idempotent; concurrent callers share one initialization). */
export function initXetHash(): Promise<void> {
  if (hashers) return Promise.resolve()
  initializing ??= Promise.all([
    createBLAKE3(256, DATA_KEY),
    createBLAKE3(256, INTERNAL_NODE_KEY),
    createBLAKE3(256, VERIFICATION_KEY),
    createBLAKE3(256, ZERO_KEY),
  ]).then(([data, node, verification, zero]) => {
    hashers = { data, node, verification, zero }
  })
  return initializing
}

function h(): Hashers {
  if (!hashers) throw new Error('Xet hashing used before `await initXetHash()`')
  return hashers
}

function digest(hasher: IHasher): Buffer {
  const d = hasher.digest('binary')
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength)
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The Xet string form (0.3): each 8-byte group written byte-reversed, lowercase hex. */
export function hashToHex(hash: Uint8Array): string {
  if (hash.byteLength !== 32) throw new RangeError(`a Xet hash is 32 bytes, got ${hash.byteLength}`)
  let s = ''
  for (let g = 0; g < 32; g += 8) for (let i = g + 7; i >= g; i--) s += HEX[hash[i]!]
  return s
}

const HASH_HEX_RE = /^[0-9a-fA-F]{64}$/

/** True for a 64-hex-digit string (either case), i.e. something `hashFromHex` accepts. */
export function isXetHashHex(s: unknown): boolean {
  return typeof s === 'string' && HASH_HEX_RE.test(s)
}

/** Parses the Xet string form back to the 32 raw bytes; throws a TypeError on anything else. */
export function hashFromHex(s: string): Buffer {
  if (typeof s !== 'string' || !isXetHashHex(s)) throw new TypeError(`not a Xet hash (64 hex digits): ${JSON.stringify(String(s).slice(0, 80))}`)
  const plain = Buffer.from(s, 'hex')
  for (let g = 0; g < 32; g += 8) plain.subarray(g, g + 8).reverse()
  return plain
}

/** Chunk hash (4.1): keyed_blake3(DATA_KEY, uncompressed bytes). */
export function chunkHash(data: Uint8Array): Buffer {
  const { data: hasher } = h()
  hasher.init()
  hasher.update(data)
  return digest(hasher)
}

/** A merkle leaf: a hash and the byte count it covers. */
export interface HashLeaf {
  hash: Uint8Array
  size: number
}

/** `raw[24..32]` as u64 LE, mod 4 == 0 (only the low byte matters). */
const isCut = (hash: Uint8Array): boolean => (hash[24]! & 3) === 0

function nodeHash(hasher: IHasher, group: readonly HashLeaf[]): HashLeaf {
  let text = ''
  let size = 0
  for (const e of group) {
    text += `${hashToHex(e.hash)} : ${e.size}\n`
    size += e.size
  }
  hasher.init()
  hasher.update(text)
  return { hash: digest(hasher), size }
}

/** Merkle aggregation (4.2) of ordered (hash, size) leaves: the xorb hash of a xorb's chunks. */
export function xorbHash(chunks: readonly HashLeaf[]): Buffer {
  const { node } = h()
  if (chunks.length === 0) return Buffer.alloc(32)
  if (chunks.length === 1) return Buffer.from(chunks[0]!.hash)
  let level: readonly HashLeaf[] = chunks
  while (level.length > 1) {
    const next: HashLeaf[] = []
    let i = 0
    while (i < level.length) {
      const remaining = level.length - i
      let end: number
      if (remaining <= 2) {
        end = level.length
      } else {
        end = i + Math.min(9, remaining)
        for (let j = 2; j <= 8 && j < remaining; j++) {
          if (isCut(level[i + j]!.hash)) {
            end = i + j + 1
            break
          }
        }
      }
      next.push(nodeHash(node, level.slice(i, end)))
      i = end
    }
    level = next
  }
  return Buffer.from(level[0]!.hash)
}

/**
 * File hash (4.3): keyed_blake3(salt, aggregation of all the file's chunks in order); the
 * empty file hashes to all zeros. `salt` defaults to the zero key (what Xet uses).
 */
export function fileHash(chunks: readonly HashLeaf[], salt?: Uint8Array): Buffer {
  const { zero } = h()
  if (chunks.length === 0) return Buffer.alloc(32)
  const root = xorbHash(chunks)
  if (salt) return keyedBlake3Block(salt, root)
  zero.init()
  zero.update(root)
  return digest(zero)
}

/** Term verification hash (4.4): keyed_blake3(VERIFICATION_KEY, the chunks' raw hashes concatenated). */
export function verificationHash(chunkHashes: readonly Uint8Array[]): Buffer {
  const { verification } = h()
  verification.init()
  for (const c of chunkHashes) {
    if (c.byteLength !== 32) throw new RangeError(`a Xet hash is 32 bytes, got ${c.byteLength}`)
    verification.update(c)
  }
  return digest(verification)
}

/**
 * The dedup "HMAC" (4.5): keyed_blake3(key, raw 32-byte hash). Not RFC 2104 HMAC. Works for any
 * key without creating a hasher (a dedup answer uses a fresh random key).
 */
export function keyedHash(key: Uint8Array, hash: Uint8Array): Buffer {
  if (hash.byteLength !== 32) throw new RangeError(`a Xet hash is 32 bytes, got ${hash.byteLength}`)
  return keyedBlake3Block(key, hash)
}

/** Alias of `keyedHash` under the name the sources use. */
export const hmacHash = keyedHash

/** Global-dedup eligibility by hash (4.6): `u64_le(raw[24..32]) mod 1024 == 0`. */
export function isDedupEligibleHash(hash: Uint8Array): boolean {
  return hash[24] === 0 && (hash[25]! & 3) === 0
}

/** `u64_le(raw[0..8])` as a bigint: the key of shard lookup tables (4.6). */
export function truncatedHash(hash: Uint8Array): bigint {
  return Buffer.from(hash.buffer, hash.byteOffset, 8).readBigUInt64LE(0)
}
