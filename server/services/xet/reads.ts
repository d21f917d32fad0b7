import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { ByteRange, KeyedObjects } from '../../../storage/blobs/blob-store.js'
import type { XetTable } from '../../../storage/db/xet-table.js'
import { hashFromHex, isXetHashHex } from '../../../storage/formats/xet/hash.js'
import { planRange } from '../../../storage/formats/xet/plan.js'
import { buildDedupShard } from '../../../storage/formats/xet/shard.js'
import { reconstructStream } from '../../../storage/xet/reconstruct-stream.js'
import type { CasGrant } from '../../auth/cas-token.js'
import type { UrlSigner } from '../../auth/signed-url.js'
import { errors } from '../../errors.js'
import { parseRange } from '../../protocol/range.js'

/** Lifetime of the presigned xorb-range URLs of a reconstruction answer (docs/xet-protocol.md §2.6). */
const RANGE_URL_TTL = 3600
/** Dedup answers carry at most this many xorbs. */
const MAX_DEDUP_XORBS = 32
/** `shard_key_expiry` of dedup answers: 7 days, as production (docs/xet-protocol.md §3.5). */
const DEDUP_KEY_TTL = 7 * 24 * 3600

interface Term {
  hash: string
  unpacked_length: number
  range: { start: number; end: number }
}

export interface ReconstructionV1 {
  offset_into_first_range: number
  terms: Term[]
  fetch_info: Record<string, { range: { start: number; end: number }; url: string; url_range: { start: number; end: number } }[]>
}

export interface ReconstructionV2 {
  offset_into_first_range: number
  terms: Term[]
  xorbs: Record<string, { url: string; ranges: { chunks: { start: number; end: number }; bytes: { start: number; end: number } }[] }[]>
}

/**
 * The read side of the CAS (docs/xet-protocol.md §2.4–2.6, §6): reconstruction answers with presigned
 * xorb-range URLs, the xorb bytes behind them, global-dedup answers, and files reconstructed as
 * a stream for clients that do not speak Xet.
 */
export class XetReads {
  constructor(
    private readonly index: XetTable,
    private readonly blobs: KeyedObjects,
    private readonly signer: UrlSigner,
    private readonly casUrl: () => string,
  ) {}

  /** The stored file, checking the id's syntax and the grant's repo (docs/xet-protocol.md §5.3: otherwise 404). */
  private visibleFile(grant: CasGrant, fileId: string) {
    if (!isXetHashHex(fileId)) throw errors.badRequest(`Invalid file id ${JSON.stringify(fileId.slice(0, 80))}: 64 hex digits expected`)
    const hash = fileId.toLowerCase()
    const file = this.index.file(hash)
    if (!file || !this.index.visible(grant.repoId, hash)) throw errors.notFound(`File ${hash} not found`)
    return file
  }

  /** Plans the packed ranges that reconstruct bytes `[start, end]` of a stored file (docs/xet-protocol.md §6.2). */
  private plan(file: NonNullable<ReturnType<XetTable['file']>>, start: number, end: number) {
    const tables = new Map<string, { packedStart: number; packedEnd: number; unpackedLength: number }[]>()
    for (const t of file.terms) {
      if (!tables.has(t.xorb_hash)) {
        tables.set(
          t.xorb_hash,
          this.index.chunks(t.xorb_hash).map((c) => ({ packedStart: c.packed_start, packedEnd: c.packed_end, unpackedLength: c.unpacked_length })),
        )
      }
    }
    const terms = file.terms.map((t) => ({ xorbHash: t.xorb_hash, chunkStart: t.chunk_start, chunkEnd: t.chunk_end, unpackedBytes: t.unpacked_length }))
    return planRange(terms, tables, start, end)
  }

  /** GET /v1|v2/reconstructions/{file_id} with an optional Range (docs/xet-protocol.md §2.5). */
  reconstruction(grant: CasGrant, fileId: string, rangeHeader: string | undefined, version: 1 | 2): ReconstructionV1 | ReconstructionV2 {
    const file = this.visibleFile(grant, fileId)
    const empty = { offset_into_first_range: 0, terms: [] as Term[] }
    let start = 0
    let end = file.size - 1
    if (rangeHeader !== undefined) {
      const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(rangeHeader)
      if (!m || (m[1] === '' && m[2] === '')) throw errors.badRequest(`Invalid Range header ${JSON.stringify(rangeHeader.slice(0, 80))}`)
      if (m[1] === '0' && file.size === 0) return version === 1 ? { ...empty, fetch_info: {} } : { ...empty, xorbs: {} }
      const r = parseRange(rangeHeader, file.size)
      if (r.kind === 'unsatisfiable') throw errors.rangeNotSatisfiable(file.size)
      if (r.kind === 'partial') ({ start, end } = r)
    }
    if (file.size === 0) return version === 1 ? { ...empty, fetch_info: {} } : { ...empty, xorbs: {} }
    const plan = this.plan(file, start, end)
    const terms: Term[] = plan.terms.map((t) => ({
      hash: t.xorbHash,
      unpacked_length: t.unpackedLength,
      range: { start: t.chunkStart, end: t.chunkEnd },
    }))
    const base = { offset_into_first_range: plan.offsetIntoFirstRange, terms }
    if (version === 1) {
      const fetch_info: ReconstructionV1['fetch_info'] = {}
      plan.terms.forEach((t, i) => {
        const bytes = { start: t.packedStart, end: t.packedEndExclusive - 1 }
        ;(fetch_info[t.xorbHash] ??= []).push({ range: { start: t.chunkStart, end: t.chunkEnd }, url: this.rangeUrl(t.xorbHash, bytes, i), url_range: bytes })
      })
      return { ...base, fetch_info }
    }
    // @NOTE: one entry with one range per term, each with its own URL: hub-js groups v2 fetches
    // by URL, and fails when two terms of one xorb share one (docs/xet-protocol.md §11).
    const xorbs: ReconstructionV2['xorbs'] = {}
    plan.terms.forEach((t, i) => {
      const bytes = { start: t.packedStart, end: t.packedEndExclusive - 1 }
      ;(xorbs[t.xorbHash] ??= []).push({ url: this.rangeUrl(t.xorbHash, bytes, i), ranges: [{ chunks: { start: t.chunkStart, end: t.chunkEnd }, bytes }] })
    })
    return { ...base, xorbs }
  }

  /** A presigned URL for one packed byte range of a xorb; `i` keeps URLs of one answer distinct. */
  private rangeUrl(xorb: string, bytes: ByteRange, i: number): string {
    const r = `${bytes.start}-${bytes.end}`
    return `${this.casUrl()}/v1/xorb-data/default/${xorb}?r=${r}&i=${i}&${this.signer.sign(['xorb', xorb, r], RANGE_URL_TTL)}`
  }

  /**
   * Checks a presigned xorb-range URL and the request's Range against it (403 on a bad or expired
   * signature, as clients expect, docs/xet-protocol.md §2.6). Returns the bytes to send and whether they answer a Range.
   */
  async openXorbRange(
    xorb: string,
    query: { r?: unknown; exp?: unknown; sig?: unknown },
    rangeHeader: string | undefined,
  ): Promise<{ stream: Readable; start: number; end: number; total: number; partial: boolean }> {
    const r = typeof query.r === 'string' ? query.r : ''
    const problem = this.signer.problem(['xorb', xorb, r], query.exp, query.sig)
    if (problem) throw errors.forbidden(`Xorb URL rejected: ${problem}`)
    const m = /^(\d{1,15})-(\d{1,15})$/.exec(r)
    const row = this.index.xorb(xorb)
    if (!m || !row) throw errors.notFound(`Xorb ${xorb} not found`)
    const signed = { start: Number(m[1]), end: Number(m[2]) }
    let want = signed
    let partial = false
    if (rangeHeader !== undefined) {
      const parsed = parseRange(rangeHeader, row.packed_length)
      if (parsed.kind === 'unsatisfiable') throw errors.rangeNotSatisfiable(row.packed_length)
      if (parsed.kind === 'partial') {
        want = { start: parsed.start, end: parsed.end }
        partial = true
      }
    }
    if (want.start < signed.start || want.end > signed.end || signed.end >= row.packed_length) {
      throw errors.forbidden(`Xorb URL rejected: bytes ${want.start}-${want.end} are outside the signed range ${r}`)
    }
    return { stream: await this.blobs.readKeyed('xorb', xorb, want), ...want, total: row.packed_length, partial }
  }

  /**
   * GET /v1/chunks/{prefix}/{hash} (docs/xet-protocol.md §2.4, §3.5): a shard describing the xorbs that hold files
   * starting with (or containing the eligible) chunk, chunk hashes keyed with a fresh key; null
   * when the chunk is not tracked (404, "no dedup").
   */
  dedup(chunkHashParam: string): Buffer | null {
    if (!isXetHashHex(chunkHashParam)) throw errors.badRequest('Invalid chunk hash: 64 hex digits expected')
    const xorbs = this.index.dedupXorbs(chunkHashParam.toLowerCase(), MAX_DEDUP_XORBS)
    if (xorbs.length === 0) return null
    const now = Math.floor(Date.now() / 1000)
    return buildDedupShard(
      xorbs.map((x) => {
        const chunks = this.index.chunks(x)
        const row = this.index.xorb(x)!
        return {
          xorbHash: hashFromHex(x),
          chunks: chunks.map((c) => ({ hash: hashFromHex(c.hash), unpackedOffset: c.unpacked_start, unpackedLength: c.unpacked_length })),
          unpackedLength: row.unpacked_length,
          packedLength: row.packed_length,
        }
      }),
      { hmacKey: randomBytes(32), createdAt: now, keyExpiry: now + DEDUP_KEY_TTL },
    )
  }

  /** Bytes `[range.start, range.end]` of a stored file, reconstructed from its xorbs as a stream (docs/xet-protocol.md §6). */
  async fileStream(fileHash: string, range: ByteRange): Promise<Readable> {
    const file = this.index.file(fileHash)
    if (!file) throw new Error(`Xet file ${fileHash} is not in the index`)
    const plan = this.plan(file, range.start, range.end)
    return reconstructStream(
      plan,
      (xorb: string, start: number, endExclusive: number) => this.blobs.readKeyed('xorb', xorb, { start, end: endExclusive - 1 }),
      { skip: plan.offsetIntoFirstRange, length: range.end - range.start + 1 },
    )
  }
}
