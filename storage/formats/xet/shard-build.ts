/**
 * Shard builders: upload shards as hf_xet ≥ 1.3 or js write them (tests), and the global-dedup
 * answer a CAS returns from `GET /v1/chunks/…` (docs/xet-protocol.md §3.5).
 */
import { keyedHash } from './hash.js'
import {
  BOOKEND,
  DEDUP_KEY_LIFETIME_S,
  FILE_FLAG_METADATA_EXT,
  FILE_FLAG_VERIFICATION,
  SHARD_FOOTER_SIZE,
  SHARD_FOOTER_VERSION,
  SHARD_HEADER_SIZE,
  SHARD_RECORD_SIZE as R,
  SHARD_TAG,
  SHARD_VERSION,
} from './shard-layout.js'

export interface ShardFileInput {
  fileHash: Uint8Array
  terms: readonly { xorbHash: Uint8Array; chunkStart: number; chunkEnd: number; unpackedBytes: number; verification?: Uint8Array | undefined }[]
  /** Metadata ext sha256, raw as stored (`hashFromHex(<hex digest>)`, docs/xet-protocol.md §0.3). */
  sha256?: Uint8Array | undefined
}

export interface ShardXorbInput {
  xorbHash: Uint8Array
  chunks: readonly { hash: Uint8Array; unpackedLength: number; unpackedOffset?: number; flags?: number }[]
  /** num_bytes_in_xorb; default the sum of the chunk lengths. */
  unpackedLength?: number
  /** num_bytes_on_disk; default 0 (as hf_xet writes). */
  packedLength?: number
}

export interface BuildShardOptions {
  /** 'hf_xet' (default): no footer, footer_size 0. 'js': a 200-byte footer with zero lookup offsets. */
  layout?: 'hf_xet' | 'js'
  /** Footer creation timestamp (js layout), unix seconds; default now. */
  createdAt?: number
}

class Writer {
  readonly buf: Buffer
  pos = 0
  constructor(size: number) {
    this.buf = Buffer.alloc(size)
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos)
    this.pos += b.byteLength
  }
  u32(v: number): void {
    this.pos = this.buf.writeUInt32LE(v >>> 0, this.pos)
  }
  u64(v: number): void {
    this.pos = this.buf.writeBigUInt64LE(BigInt(v), this.pos)
  }
  skip(n: number): void {
    this.pos += n
  }
}

function header(w: Writer, footer: boolean): void {
  w.bytes(SHARD_TAG)
  w.u64(SHARD_VERSION)
  w.u64(footer ? SHARD_FOOTER_SIZE : 0)
}

function fileRecords(f: ShardFileInput): number {
  const n = f.terms.length
  const ver = n > 0 && f.terms.every((t) => t.verification)
  return 1 + n * (ver ? 2 : 1) + (f.sha256 ? 1 : 0)
}

function writeFiles(w: Writer, files: readonly ShardFileInput[]): void {
  for (const f of files) {
    const n = f.terms.length
    const withVerification = n > 0 && f.terms.every((t) => t.verification)
    if (!withVerification && f.terms.some((t) => t.verification)) throw new RangeError('either every term of a file has a verification hash or none')
    w.bytes(f.fileHash)
    w.u32((withVerification ? FILE_FLAG_VERIFICATION : 0) | (f.sha256 ? FILE_FLAG_METADATA_EXT : 0))
    w.u32(n)
    w.u64(0)
    for (const t of f.terms) {
      w.bytes(t.xorbHash)
      w.u32(0)
      w.u32(t.unpackedBytes)
      w.u32(t.chunkStart)
      w.u32(t.chunkEnd)
    }
    if (withVerification) {
      for (const t of f.terms) {
        w.bytes(t.verification!)
        w.skip(16)
      }
    }
    if (f.sha256) {
      w.bytes(f.sha256)
      w.skip(16)
    }
  }
  w.bytes(BOOKEND)
}

const xorbUnpacked = (x: ShardXorbInput): number => x.unpackedLength ?? x.chunks.reduce((a, c) => a + c.unpackedLength, 0)

function writeXorbs(w: Writer, xorbs: readonly ShardXorbInput[], key: Uint8Array | null): void {
  for (const x of xorbs) {
    w.bytes(x.xorbHash)
    w.u32(0)
    w.u32(x.chunks.length)
    w.u32(xorbUnpacked(x))
    w.u32(x.packedLength ?? 0)
    let offset = 0
    for (const c of x.chunks) {
      w.bytes(key ? keyedHash(key, c.hash) : c.hash)
      w.u32(c.unpackedOffset ?? offset)
      w.u32(c.unpackedLength)
      w.u32(c.flags ?? 0)
      w.u32(0)
      offset += c.unpackedLength
    }
  }
  w.bytes(BOOKEND)
}

interface FooterFields {
  xorbInfoOffset: number
  lookupOffsets: number
  hmacKey?: Uint8Array
  createdAt: number
  keyExpiry: number
  storedBytesOnDisk: number
  materializedBytes: number
  storedBytes: number
}

function footer(w: Writer, f: FooterFields): void {
  const footerOffset = w.pos
  w.u64(SHARD_FOOTER_VERSION)
  w.u64(SHARD_HEADER_SIZE)
  w.u64(f.xorbInfoOffset)
  for (let i = 0; i < 3; i++) {
    w.u64(f.lookupOffsets)
    w.u64(0)
  }
  if (f.hmacKey) w.bytes(f.hmacKey)
  else w.skip(32)
  w.u64(f.createdAt)
  w.u64(f.keyExpiry)
  w.skip(48)
  w.u64(f.storedBytesOnDisk)
  w.u64(f.materializedBytes)
  w.u64(f.storedBytes)
  w.u64(footerOffset)
}

/** An upload shard (files + the session's new xorbs), laid out as hf_xet ≥ 1.3 or js write it. */
export function buildShard(input: { files: readonly ShardFileInput[]; xorbs: readonly ShardXorbInput[] }, opts: BuildShardOptions = {}): Buffer {
  const js = opts.layout === 'js'
  const fileRecs = input.files.reduce((a, f) => a + fileRecords(f), 1)
  const xorbRecs = input.xorbs.reduce((a, x) => a + 1 + x.chunks.length, 1)
  const w = new Writer(SHARD_HEADER_SIZE + (fileRecs + xorbRecs) * R + (js ? SHARD_FOOTER_SIZE : 0))
  header(w, js)
  writeFiles(w, input.files)
  const xorbInfoOffset = w.pos
  writeXorbs(w, input.xorbs, null)
  if (js) {
    footer(w, {
      xorbInfoOffset,
      lookupOffsets: 0,
      createdAt: opts.createdAt ?? Math.floor(Date.now() / 1000),
      keyExpiry: 0,
      storedBytesOnDisk: input.xorbs.reduce((a, x) => a + (x.packedLength ?? 0), 0),
      materializedBytes: 0,
      storedBytes: input.xorbs.reduce((a, x) => a + xorbUnpacked(x), 0),
    })
  }
  return w.buf
}

export interface DedupShardOptions {
  /** Fresh random 32 bytes per answer (non-zero: it tells clients to key their query hashes). */
  hmacKey: Uint8Array
  /** Unix seconds; default now. */
  createdAt?: number
  /** shard_key_expiry, unix seconds; default createdAt + 7 days (never 0: hf_xet would treat the shard as expired). */
  keyExpiry?: number
  /** The chunk hashes given are already keyed (re-serializing a parsed answer). */
  chunkHashesKeyed?: boolean
}

export interface BuildDedupShardInput extends DedupShardOptions {
  /** Xorbs with their RAW chunk hashes (keyed here), unless `chunkHashesKeyed`. */
  xorbs: readonly ShardXorbInput[]
}

/**
 * The global-dedup answer shard (3.5), shaped like production's: footer_size 200, empty file
 * section, one block per xorb with HMAC-keyed chunk hashes and num_bytes_on_disk as given (0 by
 * default), no lookup tables (all three offsets = footer offset, counts 0), the key at footer
 * byte 72, creation and expiry timestamps, stored_bytes = sum of the xorbs' unpacked sizes.
 * Call as `buildDedupShard({ xorbs, hmacKey, … })` or `buildDedupShard(xorbs, { hmacKey, … })`.
 */
export function buildDedupShard(input: BuildDedupShardInput): Buffer
export function buildDedupShard(xorbs: readonly ShardXorbInput[], opts: DedupShardOptions): Buffer
export function buildDedupShard(a: BuildDedupShardInput | readonly ShardXorbInput[], b?: DedupShardOptions): Buffer {
  const input: BuildDedupShardInput = Array.isArray(a) ? { ...b!, xorbs: a as readonly ShardXorbInput[] } : (a as BuildDedupShardInput)
  if (input.hmacKey.byteLength !== 32) throw new RangeError('the HMAC key is 32 bytes')
  const createdAt = input.createdAt ?? Math.floor(Date.now() / 1000)
  const xorbRecs = input.xorbs.reduce((a, x) => a + 1 + x.chunks.length, 1)
  const w = new Writer(SHARD_HEADER_SIZE + (1 + xorbRecs) * R + SHARD_FOOTER_SIZE)
  header(w, true)
  writeFiles(w, [])
  const xorbInfoOffset = w.pos
  writeXorbs(w, input.xorbs, input.chunkHashesKeyed ? null : input.hmacKey)
  footer(w, {
    xorbInfoOffset,
    lookupOffsets: w.pos,
    hmacKey: input.hmacKey,
    createdAt,
    keyExpiry: input.keyExpiry ?? createdAt + DEDUP_KEY_LIFETIME_S,
    storedBytesOnDisk: 0,
    materializedBytes: 0,
    storedBytes: input.xorbs.reduce((a, x) => a + xorbUnpacked(x), 0),
  })
  return w.buf
}
