import { createHash } from 'node:crypto'
import { finished, type Readable } from 'node:stream'
import { BlobVerifyError, type KeyedObjects } from '../../../storage/blobs/blob-store.js'
import type { XetChunkRow, XetFileRegistration, XetTable } from '../../../storage/db/xet-table.js'
import { XetFormatError } from '../../../storage/formats/xet/errors.js'
import { fileHash, hashFromHex, hashToHex, initXetHash, isDedupEligibleHash, isXetHashHex, verificationHash } from '../../../storage/formats/xet/hash.js'
import { parseShard } from '../../../storage/formats/xet/shard.js'
import { startXorbCheck } from '../../../storage/xet/xorb-verify-pool.js'
import { MAX_XORB_BODY, type XorbLayout } from '../../../storage/formats/xet/xorb.js'
import { errors } from '../../errors.js'
import { shield } from '../body-shield.js'

/** Largest shard body accepted (docs/xet-protocol.md §4.7: clients split bigger ones). */
export const MAX_SHARD_BODY = 64 * 1024 * 1024
/** Xorbs one global-dedup entry points at (the xorbs of the file that registered it). */
const MAX_DEDUP_XORBS_PER_FILE = 64

/** Raw bytes or Xet string form → string form (lowercase). */
function hex(h: Uint8Array | string): string {
  return typeof h === 'string' ? h.toLowerCase() : hashToHex(h)
}

/**
 * The write side of the CAS (docs/xet-protocol.md §2.2, §2.3, §5.1, §5.2): xorbs are verified while they
 * stream to a temp file and published with their chunk table; shards are verified entirely
 * against the server's own chunk tables before any file is registered.
 */
export class XetUploads {
  /** One upload per xorb hash at a time in this process: the first to publish defines the stored layout. */
  private readonly inFlight = new Map<string, Promise<unknown>>()

  constructor(
    private readonly index: XetTable,
    private readonly blobs: KeyedObjects,
  ) {}

  /** POST /v1/xorbs/{prefix}/{hash}: `wasInserted` false when the hash was already stored. */
  async uploadXorb(hashParam: string, declaredLength: number | null, body: Readable): Promise<{ wasInserted: boolean }> {
    if (!isXetHashHex(hashParam)) throw errors.badRequest(`Invalid xorb hash ${JSON.stringify(hashParam.slice(0, 80))}: 64 hex digits expected`)
    if (declaredLength !== null && declaredLength > MAX_XORB_BODY) {
      throw errors.badRequest(`Xorb body of ${declaredLength} bytes exceeds the limit of ${MAX_XORB_BODY} bytes`)
    }
    const hash = hashParam.toLowerCase()
    await initXetHash()
    const previous = this.inFlight.get(hash)
    const run = (async () => {
      await previous?.catch(() => {})
      return this.storeXorb(hash, body)
    })()
    this.inFlight.set(hash, run)
    try {
      return await run
    } finally {
      if (this.inFlight.get(hash) === run) this.inFlight.delete(hash)
    }
  }

  private async storeXorb(hash: string, body: Readable): Promise<{ wasInserted: boolean }> {
    if (this.index.xorb(hash) && (await this.blobs.statKeyed('xorb', hash))) {
      // @NOTE: an upload of a stored hash only refreshes its GC clock (docs/xet-protocol.md §2.2, §5.4); the body is discarded.
      body.resume()
      await new Promise<void>((resolve) => finished(body, () => resolve()))
      this.index.touch(hash)
      return { wasInserted: false }
    }
    const check = startXorbCheck()
    let layout: XorbLayout | null = null
    const shielded = shield(body)
    try {
      await this.blobs.putKeyed('xorb', hash, shielded.stream, {
        limit: MAX_XORB_BODY,
        verifier: {
          update: (chunk) => check.push(chunk),
          finish: async () => {
            layout = await check.finish(hash)
            return { keep: layout.packedLength }
          },
          abort: () => check.abort(),
        },
      })
    } catch (err) {
      shielded.release()
      if (err instanceof XetFormatError || err instanceof BlobVerifyError) throw errors.badRequest(`Xorb rejected: ${err.message}`)
      throw err
    }
    const l = layout as XorbLayout | null
    if (!l) throw new Error('xorb verifier did not finish')
    const rows: Omit<XetChunkRow, 'idx'>[] = l.chunks.map((c) => ({
      hash: hashToHex(c.hash),
      packed_start: c.packedOffset,
      packed_end: c.packedOffset + c.packedLength,
      unpacked_start: c.unpackedOffset,
      unpacked_length: c.unpackedLength,
    }))
    return { wasInserted: this.index.recordXorb(hash, rows, l.packedLength) }
  }

  /**
   * POST /v1/shards: verifies every file and xorb of the shard against the index (docs/xet-protocol.md §5.2), then
   * registers the files for `repoId` in one transaction. 1: registered, 0: already registered.
   */
  async uploadShard(repoId: string, body: Buffer): Promise<0 | 1> {
    await initXetHash()
    const shardId = createHash('sha256').update(body).digest('hex')
    if (this.index.shardSeen(shardId, repoId)) return 0
    let parsed: ReturnType<typeof parseShard>
    try {
      parsed = parseShard(body)
    } catch (err) {
      if (err instanceof XetFormatError) throw errors.badRequest(`Shard rejected: ${err.message}`)
      throw err
    }
    const tables = new Map<string, XetChunkRow[]>()
    const table = (xorb: string, what: string): XetChunkRow[] => {
      let t = tables.get(xorb)
      if (!t) {
        t = this.index.xorb(xorb) ? this.index.chunks(xorb) : []
        if (t.length === 0) throw errors.badRequest(`Shard rejected: ${what} references xorb ${xorb}, which has not been uploaded`)
        tables.set(xorb, t)
      }
      return t
    }

    for (const x of parsed.xorbs) {
      const xh = hex(x.xorbHash)
      const t = table(xh, 'the xorb section')
      // @NOTE: the client's copy is compared, never indexed: the server's table is what counts.
      if (x.chunks.length !== t.length) {
        throw errors.badRequest(`Shard rejected: xorb ${xh} has ${t.length} chunks, the shard lists ${x.chunks.length}`)
      }
      x.chunks.forEach((c, i) => {
        if (hex(c.hash) !== t[i]!.hash || c.unpackedLength !== t[i]!.unpacked_length) {
          throw errors.badRequest(`Shard rejected: chunk ${i} of xorb ${xh} does not match the stored xorb`)
        }
      })
    }

    const withVerification = parsed.files.filter((f) => f.terms.length > 0 && f.terms.every((t) => t.verification !== undefined))
    const nonEmpty = parsed.files.filter((f) => f.terms.length > 0)
    if (withVerification.length !== nonEmpty.length) {
      throw errors.badRequest('Shard rejected: every file must carry verification entries for all its terms')
    }

    const files: XetFileRegistration[] = []
    const dedup: { chunk: string; xorbs: string[] }[] = []
    for (const f of parsed.files) {
      const fh = hex(f.fileHash)
      const leaves: { hash: Buffer; size: number }[] = []
      const eligible: string[] = []
      const xorbs = new Set<string>()
      let size = 0
      f.terms.forEach((term, i) => {
        const xh = hex(term.xorbHash)
        const t = table(xh, `file ${fh} term ${i}`)
        if (!(term.chunkStart < term.chunkEnd && term.chunkEnd <= t.length)) {
          throw errors.badRequest(`Shard rejected: file ${fh} term ${i} has chunk range [${term.chunkStart}, ${term.chunkEnd}) outside xorb ${xh} (${t.length} chunks)`)
        }
        const chunks = t.slice(term.chunkStart, term.chunkEnd)
        const bytes = chunks.reduce((s, c) => s + c.unpacked_length, 0)
        if (bytes !== term.unpackedBytes) {
          throw errors.badRequest(`Shard rejected: file ${fh} term ${i} declares ${term.unpackedBytes} bytes, the chunks hold ${bytes}`)
        }
        const raw = chunks.map((c) => hashFromHex(c.hash))
        if (hex(verificationHash(raw)) !== hex(term.verification!)) {
          throw errors.badRequest(`Shard rejected: file ${fh} term ${i} has a wrong verification hash`)
        }
        chunks.forEach((c, k) => {
          leaves.push({ hash: raw[k]!, size: c.unpacked_length })
          if ((leaves.length === 1 || isDedupEligibleHash(raw[k]!)) && eligible.length < 4096) eligible.push(c.hash)
        })
        xorbs.add(xh)
        size += bytes
      })
      const computed = hashToHex(fileHash(leaves))
      if (computed !== fh) {
        throw errors.badRequest(`Shard rejected: file reconstruction does not produce this hash (${fh}; the terms hash to ${computed})`)
      }
      files.push({
        hash: fh,
        size,
        sha256: f.sha256 === undefined || f.sha256 === null ? null : hex(f.sha256),
        terms: f.terms.map((term) => ({
          xorb_hash: hex(term.xorbHash),
          chunk_start: term.chunkStart,
          chunk_end: term.chunkEnd,
          unpacked_length: term.unpackedBytes,
        })),
      })
      const targets = [...xorbs].slice(0, MAX_DEDUP_XORBS_PER_FILE)
      for (const chunk of eligible) dedup.push({ chunk, xorbs: targets })
    }
    return this.index.registerShard(shardId, repoId, files, dedup) ? 1 : 0
  }
}
