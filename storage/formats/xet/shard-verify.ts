/**
 * Checks a parsed upload shard's files against the server's own chunk tables (docs/xet-protocol.md §5.2 step 2):
 * every term's xorb exists, its chunk range fits, its size and verification hash match, and the
 * file hash recomputed over all terms equals the declared one. Pure; requires `initXetHash()`.
 */
import { XetFormatError } from './errors.js'
import { fileHash, hashToHex, verificationHash, type HashLeaf } from './hash.js'
import type { ShardFile } from './shard.js'

/** A stored xorb's chunk table: raw chunk hash and unpacked length per chunk. */
export type ChunkTableLookup = (xorbHashHex: string) => readonly { hash: Uint8Array; unpackedLength: number }[] | undefined

/**
 * Throws XetFormatError describing the first problem; returns the file's size and its merkle
 * leaves (the chunks in file order) otherwise. Terms without verification entries are rejected
 * unless `allowUnverified`.
 */
export function verifyShardFile(file: ShardFile, lookup: ChunkTableLookup, opts: { allowUnverified?: boolean } = {}): { size: number; leaves: HashLeaf[] } {
  const fh = hashToHex(file.fileHash)
  const leaves: HashLeaf[] = []
  let size = 0
  for (const [i, term] of file.terms.entries()) {
    const xh = hashToHex(term.xorbHash)
    const table = lookup(xh)
    if (!table) throw new XetFormatError(`file ${fh} term ${i}: xorb ${xh} is not stored`)
    if (term.chunkStart >= term.chunkEnd || term.chunkEnd > table.length) {
      throw new XetFormatError(`file ${fh} term ${i}: chunk range [${term.chunkStart}, ${term.chunkEnd}) outside xorb ${xh} (${table.length} chunks)`)
    }
    const chunks = table.slice(term.chunkStart, term.chunkEnd)
    const bytes = chunks.reduce((a, c) => a + c.unpackedLength, 0)
    if (bytes !== term.unpackedBytes) throw new XetFormatError(`file ${fh} term ${i}: declares ${term.unpackedBytes} bytes, the chunks hold ${bytes}`)
    if (term.verification) {
      if (!verificationHash(chunks.map((c) => c.hash)).equals(term.verification)) throw new XetFormatError(`file ${fh} term ${i}: wrong verification hash`)
    } else if (!opts.allowUnverified) {
      throw new XetFormatError(`file ${fh} term ${i}: no verification hash`)
    }
    for (const c of chunks) leaves.push({ hash: c.hash, size: c.unpackedLength })
    size += bytes
  }
  const computed = fileHash(leaves)
  if (!computed.equals(file.fileHash)) {
    throw new XetFormatError(`file reconstruction does not produce this hash (${fh}; the terms hash to ${hashToHex(computed)})`)
  }
  return { size, leaves }
}
