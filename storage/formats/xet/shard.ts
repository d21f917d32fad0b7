/**
 * MDB shard parsing (docs/xet-protocol.md §3.4): upload shards of every client generation (hf_xet with and without
 * lookup tables + footer, js with a footer of zero lookup offsets) and global-dedup answers (3.5).
 * Structure only: whether the xorbs exist and the hashes hold is for the caller (docs/xet-protocol.md §5.2).
 */
import { XetFormatError } from './errors.js'
import { hashToHex } from './hash.js'
import {
  FILE_FLAG_METADATA_EXT,
  FILE_FLAG_VERIFICATION,
  MAX_SHARD_BYTES,
  SHARD_FOOTER_SIZE,
  SHARD_FOOTER_VERSION,
  SHARD_HEADER_SIZE,
  SHARD_RECORD_SIZE as R,
  SHARD_TAG,
  SHARD_VERSION,
} from './shard-layout.js'

export * from './shard-layout.js'
export { buildDedupShard, buildShard, type BuildDedupShardInput, type DedupShardOptions, type BuildShardOptions, type ShardFileInput, type ShardXorbInput } from './shard-build.js'

export interface ShardFileTerm {
  xorbHash: Buffer
  chunkStart: number
  /** Exclusive. */
  chunkEnd: number
  unpackedBytes: number
  /** Range hash (4.4), when the file carries verification entries. */
  verification?: Buffer
}

export interface ShardFile {
  fileHash: Buffer
  terms: ShardFileTerm[]
  /**
   * The metadata ext's sha256, raw as stored (each 8-byte group of the digest reversed, docs/xet-protocol.md §0.3),
   * like every other hash here: `hashToHex(sha256)` is the ordinary hex digest (the LFS oid).
   */
  sha256?: Buffer
}

export interface ShardXorbChunk {
  /** Raw chunk hash — HMAC-keyed in a dedup answer. */
  hash: Buffer
  unpackedOffset: number
  unpackedLength: number
  /** Bit 31: global-dedup eligible. */
  flags: number
}

export interface ShardXorb {
  xorbHash: Buffer
  chunks: ShardXorbChunk[]
  /** num_bytes_in_xorb. */
  unpackedLength: number
  /** num_bytes_on_disk (0 from hf_xet and dedup answers: never rely on it). */
  packedLength: number
}

export interface ShardFooter {
  version: number
  fileInfoOffset: number
  xorbInfoOffset: number
  fileLookupOffset: number
  fileLookupCount: number
  xorbLookupOffset: number
  xorbLookupCount: number
  chunkLookupOffset: number
  chunkLookupCount: number
  /** All zero = chunk hashes not keyed. */
  hmacKey: Buffer
  createdAt: number
  keyExpiry: number
  storedBytesOnDisk: number
  materializedBytes: number
  storedBytes: number
  footerOffset: number
}

export interface ParsedShard {
  files: ShardFile[]
  xorbs: ShardXorb[]
  /** Byte offset just past the xorb section's bookend. */
  xorbSectionEnd: number
  footer?: ShardFooter
}

export interface ParseShardOptions {
  /** Reject files without verification entries (docs/xet-protocol.md §5.2 requires them on upload). */
  requireVerification?: boolean
  /** Default 64 MiB. */
  maxBytes?: number
}

const isBookend = (buf: Buffer, at: number): boolean => {
  for (let i = 0; i < 32; i++) if (buf[at + i] !== 0xff) return false
  return true
}

function u64(buf: Buffer, at: number, what: string): number {
  const v = buf.readBigUInt64LE(at)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new XetFormatError(`shard ${what} ${v} is out of range`)
  return Number(v)
}

const copy32 = (buf: Buffer, at: number): Buffer => Buffer.from(buf.subarray(at, at + 32))

/**
 * Parses a shard sequentially from byte 48, each section up to its bookend; ignores lookup tables
 * and never trusts footer offsets. Throws XetFormatError on any structural problem.
 */
export function parseShard(input: Uint8Array, opts: ParseShardOptions = {}): ParsedShard {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  const maxBytes = opts.maxBytes ?? MAX_SHARD_BYTES
  if (buf.length > maxBytes) throw new XetFormatError(`shard is ${buf.length} bytes, more than ${maxBytes}`)
  if (buf.length < SHARD_HEADER_SIZE) throw new XetFormatError(`shard truncated: ${buf.length} bytes, no room for the 48-byte header`)
  if (!buf.subarray(0, 32).equals(SHARD_TAG)) throw new XetFormatError('not a shard: bad header tag')
  const version = buf.readBigUInt64LE(32)
  if (version !== BigInt(SHARD_VERSION)) throw new XetFormatError(`shard header version ${version} (expected ${SHARD_VERSION})`)
  const footerSize = buf.readBigUInt64LE(40)
  if (footerSize !== 0n && footerSize !== BigInt(SHARD_FOOTER_SIZE)) throw new XetFormatError(`shard footer_size ${footerSize} (expected 0 or ${SHARD_FOOTER_SIZE})`)
  const end = buf.length - Number(footerSize)
  if (end < SHARD_HEADER_SIZE) throw new XetFormatError(`shard truncated: ${buf.length} bytes cannot hold header and footer`)

  let pos = SHARD_HEADER_SIZE
  const need = (records: number, what: string): void => {
    if (pos + records * R > end) {
      throw new XetFormatError(`shard truncated or count overruns the body: ${what} needs ${records} × 48 bytes at byte ${pos}, section ends at ${end}`)
    }
  }

  const files: ShardFile[] = []
  let verifiedFile: ShardFile | undefined
  let unverifiedFile: ShardFile | undefined
  for (;;) {
    need(1, 'file section record')
    if (isBookend(buf, pos)) {
      pos += R
      break
    }
    const fileHash = copy32(buf, pos)
    const flags = buf.readUInt32LE(pos + 32)
    const n = buf.readUInt32LE(pos + 36)
    const withVerification = (flags & FILE_FLAG_VERIFICATION) !== 0
    const withExt = (flags & FILE_FLAG_METADATA_EXT) !== 0
    const label = `file ${hashToHex(fileHash)}`
    pos += R
    need(n * (withVerification ? 2 : 1) + (withExt ? 1 : 0), `${label} (${n} terms)`)
    const terms: ShardFileTerm[] = []
    for (let i = 0; i < n; i++, pos += R) {
      const chunkStart = buf.readUInt32LE(pos + 40)
      const chunkEnd = buf.readUInt32LE(pos + 44)
      if (chunkStart >= chunkEnd) throw new XetFormatError(`${label} term ${i}: empty chunk range [${chunkStart}, ${chunkEnd})`)
      terms.push({ xorbHash: copy32(buf, pos), chunkStart, chunkEnd, unpackedBytes: buf.readUInt32LE(pos + 36) })
    }
    if (withVerification) for (let i = 0; i < n; i++, pos += R) terms[i]!.verification = copy32(buf, pos)
    const file: ShardFile = { fileHash, terms }
    if (withExt) {
      file.sha256 = copy32(buf, pos)
      pos += R
    }
    // @NOTE the empty file has no terms, so it cannot carry verification entries either way.
    if (n > 0) {
      if (withVerification) verifiedFile ??= file
      else unverifiedFile ??= file
      if (verifiedFile && unverifiedFile) {
        throw new XetFormatError(
          `shard mixes files with and without verification entries (${hashToHex(verifiedFile.fileHash)} has them, ${hashToHex(unverifiedFile.fileHash)} does not)`,
        )
      }
      if (opts.requireVerification && !withVerification) throw new XetFormatError(`${label} has no verification entries`)
    }
    files.push(file)
  }

  const xorbs: ShardXorb[] = []
  for (;;) {
    need(1, 'xorb section record')
    if (isBookend(buf, pos)) {
      pos += R
      break
    }
    const xorbHash = copy32(buf, pos)
    const n = buf.readUInt32LE(pos + 36)
    const unpackedLength = buf.readUInt32LE(pos + 40)
    const packedLength = buf.readUInt32LE(pos + 44)
    pos += R
    need(n, `xorb ${hashToHex(xorbHash)} (${n} chunks)`)
    const chunks: ShardXorbChunk[] = new Array(n)
    for (let i = 0; i < n; i++, pos += R) {
      chunks[i] = {
        hash: copy32(buf, pos),
        unpackedOffset: buf.readUInt32LE(pos + 32),
        unpackedLength: buf.readUInt32LE(pos + 36),
        flags: buf.readUInt32LE(pos + 40),
      }
    }
    xorbs.push({ xorbHash, chunks, unpackedLength, packedLength })
  }

  const parsed: ParsedShard = { files, xorbs, xorbSectionEnd: pos }
  if (footerSize !== 0n) parsed.footer = parseFooter(buf, end)
  return parsed
}

function parseFooter(buf: Buffer, at: number): ShardFooter {
  const f = (i: number, what: string) => u64(buf, at + i, `footer ${what}`)
  const version = f(0, 'version')
  if (version !== SHARD_FOOTER_VERSION) throw new XetFormatError(`shard footer version ${version} (expected ${SHARD_FOOTER_VERSION})`)
  return {
    version,
    fileInfoOffset: f(8, 'file_info_offset'),
    xorbInfoOffset: f(16, 'xorb_info_offset'),
    fileLookupOffset: f(24, 'file_lookup_offset'),
    fileLookupCount: f(32, 'file_lookup_num_entry'),
    xorbLookupOffset: f(40, 'xorb_lookup_offset'),
    xorbLookupCount: f(48, 'xorb_lookup_num_entry'),
    chunkLookupOffset: f(56, 'chunk_lookup_offset'),
    chunkLookupCount: f(64, 'chunk_lookup_num_entry'),
    hmacKey: copy32(buf, at + 72),
    createdAt: f(104, 'shard_creation_timestamp'),
    keyExpiry: f(112, 'shard_key_expiry'),
    storedBytesOnDisk: f(168, 'stored_bytes_on_disk'),
    materializedBytes: f(176, 'materialized_bytes'),
    storedBytes: f(184, 'stored_bytes'),
    footerOffset: f(192, 'footer_offset'),
  }
}

/** A parsed global-dedup answer (3.5). */
export interface DedupShard {
  hmacKey: Buffer
  createdAt: number
  keyExpiry: number
  /** Chunk hashes keyed with hmacKey. */
  xorbs: ShardXorb[]
}

/**
 * Parses a global-dedup answer the way the clients read it: footer required, the xorb section
 * must end where the footer's file_lookup_offset says (js stops reading there), no files.
 */
export function parseDedupShard(input: Uint8Array): DedupShard {
  const s = parseShard(input)
  if (!s.footer) throw new XetFormatError('dedup shard has no footer (footer_size 0)')
  if (s.files.length > 0) throw new XetFormatError(`dedup shard lists ${s.files.length} files (expected none)`)
  if (s.footer.fileLookupOffset !== s.xorbSectionEnd) {
    throw new XetFormatError(`dedup shard footer file_lookup_offset ${s.footer.fileLookupOffset} ≠ end of xorb section ${s.xorbSectionEnd}`)
  }
  if (s.footer.footerOffset !== input.byteLength - SHARD_FOOTER_SIZE) throw new XetFormatError(`dedup shard footer_offset ${s.footer.footerOffset} is wrong`)
  return { hmacKey: s.footer.hmacKey, createdAt: s.footer.createdAt, keyExpiry: s.footer.keyExpiry, xorbs: s.xorbs }
}
