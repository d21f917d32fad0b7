/** MDB shard layout constants (docs/xet-protocol.md §3.4). */

export const SHARD_HEADER_SIZE = 48
export const SHARD_RECORD_SIZE = 48
export const SHARD_FOOTER_SIZE = 200
export const SHARD_VERSION = 2
export const SHARD_FOOTER_VERSION = 1
/** Clients split bigger shards (4.7). */
export const MAX_SHARD_BYTES = 64 * 1024 * 1024
/** Production's dedup key lifetime: 7 days. */
export const DEDUP_KEY_LIFETIME_S = 604_800

export const SHARD_TAG = Buffer.concat([
  Buffer.from('HFRepoMetaData', 'latin1'),
  Buffer.from([0x00, 0x55, 0x69, 0x67, 0x45, 0x6a, 0x7b, 0x81, 0x57, 0x83, 0xa5, 0xbd, 0xd9, 0x5c, 0xcd, 0xd1, 0x4a, 0xa9]),
])

export const FILE_FLAG_VERIFICATION = 0x80000000
export const FILE_FLAG_METADATA_EXT = 0x40000000
/** XorbChunkSequenceEntry flag: chunk starts a file / global-dedup eligible. */
export const CHUNK_FLAG_DEDUP_ELIGIBLE = 0x80000000

/** The 48-byte record that closes each section: 32 × 0xFF then 16 × 0x00. */
export const BOOKEND = Buffer.concat([Buffer.alloc(32, 0xff), Buffer.alloc(16)])

/** Shard sha256 fields store the digest with each 8-byte group reversed (docs/xet-protocol.md §0.3). Self-inverse. */
export function swapHashGroups(b: Uint8Array): Buffer {
  const out = Buffer.from(b)
  for (let g = 0; g < 32; g += 8) out.subarray(g, g + 8).reverse()
  return out
}
