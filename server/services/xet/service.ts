import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { ByteRange, KeyedObjects } from '../../../storage/blobs/blob-store.js'
import { SHA256_RE } from '../../../storage/blobs/blob-store.js'
import type { LfsTable } from '../../../storage/db/lfs-table.js'
import type { RepoRow } from '../../../storage/db/repos-table.js'
import type { XetTable } from '../../../storage/db/xet-table.js'
import { bearer, type CasGrant, type CasScope, type CasTokens } from '../../auth/cas-token.js'
import type { UrlSigner } from '../../auth/signed-url.js'
import { errors } from '../../errors.js'
import type { BatchAnswerObject, BatchObject } from '../lfs-service.js'
import { XetReads } from './reads.js'
import { XetUploads } from './uploads.js'

/** CAS tokens live an hour (docs/xet-protocol.md §1.1); clients refresh them from the token URL before `exp`. */
const TOKEN_TTL = 3600
/** Files whose shard named no sha256 are matched by size; at most this many are hashed per commit line. */
const MAX_UNCLAIMED_CANDIDATES = 4

const TYPE_SEGMENT = { model: 'models', dataset: 'datasets', space: 'spaces' } as const

/**
 * Xet storage (issue 6, docs/xet-protocol.md): CAS tokens, the write and read sides of the CAS, and the
 * bridge to LFS — a commit naming a Xet-uploaded file by sha256, and serving such files to
 * clients that do not speak Xet by reconstruction.
 */
export class XetService {
  readonly uploads: XetUploads
  readonly reads: XetReads

  constructor(
    private readonly index: XetTable,
    private readonly lfs: LfsTable,
    blobs: KeyedObjects,
    private readonly tokens: CasTokens,
    signer: UrlSigner,
    private readonly publicUrl: () => string,
    private readonly log: (msg: string) => void = () => {},
  ) {
    this.uploads = new XetUploads(index, blobs)
    this.reads = new XetReads(index, blobs, signer, () => this.casUrl())
  }

  /** The CAS base URL handed to clients (no trailing slash; they append `/v1/…`). */
  casUrl(): string {
    return `${this.publicUrl()}/cas`
  }

  issueToken(repo: RepoRow, scope: CasScope, user: string | null): { accessToken: string; exp: number; casUrl: string } {
    const exp = Math.floor(Date.now() / 1000) + TOKEN_TTL
    return { accessToken: this.tokens.issue({ repoId: repo.id, scope, exp, user }), exp, casUrl: this.casUrl() }
  }

  /** The grant of a CAS request's token: 401 when missing, bad or expired, 403 when read-only for a write. */
  grant(authorization: string | undefined, need: CasScope): CasGrant {
    const token = bearer(authorization)
    if (!token) throw errors.unauthorized('A CAS access token is required (Authorization: Bearer <token from xet-read-token or xet-write-token>)')
    const g = this.tokens.check(token)
    if ('problem' in g) throw errors.unauthorized(g.problem)
    if (need === 'write' && g.scope !== 'write') throw errors.forbidden('This CAS access token is read-only; get one from xet-write-token')
    return g
  }

  /**
   * The LFS batch answer that steers a client to Xet (docs/xet-protocol.md §1.2): objects the repo may already use
   * get no actions; the others an upload action whose href is the write-token URL (the refresh
   * URL) and whose headers carry a CAS URL and token.
   */
  batchUpload(repo: RepoRow, objects: BatchObject[], rev: string, user: string | null, readsAll: boolean): { transfer: 'xet'; objects: BatchAnswerObject[] } {
    const t = this.issueToken(repo, 'write', user)
    const href = `${this.publicUrl()}/api/${TYPE_SEGMENT[repo.type]}/${repo.namespace}/${repo.name}/xet-write-token/${encodeURIComponent(rev)}`
    const answers: BatchAnswerObject[] = []
    for (const { oid, size } of objects) {
      if (!SHA256_RE.test(oid)) {
        answers.push({ oid, size, error: { code: 422, message: 'oid must be a lowercase sha256 (64 hex characters)' } })
        continue
      }
      const reusable = this.lfs.reusableSize(repo.id, oid, readsAll) === size
      if (reusable || this.index.claims(repo.id, oid, size).some((c) => c.claimed)) {
        if (reusable) this.lfs.link(repo.id, oid)
        answers.push({ oid, size, authenticated: true })
        continue
      }
      answers.push({
        oid,
        size,
        authenticated: true,
        actions: {
          upload: {
            href,
            header: { 'X-Xet-Cas-Url': t.casUrl, 'X-Xet-Access-Token': t.accessToken, 'X-Xet-Token-Expiration': String(t.exp) },
            expires_in: TOKEN_TTL,
          },
        },
      })
    }
    return { transfer: 'xet', objects: answers }
  }

  /**
   * For a commit line naming `oid` that no stored LFS object covers: a file this repo uploaded
   * through Xet whose shard claimed that sha256 (or, lacking a claim, has that size). The claim
   * is verified by reconstructing the file and hashing it before the mapping becomes an LFS
   * object (docs/xet-protocol.md §1.5), so no repo can bind someone else's sha256 to its own bytes. Returns the
   * size, or undefined.
   */
  async adoptForCommit(repoId: string, oid: string, size: number | null): Promise<number | undefined> {
    const known = this.index.object(oid)
    const candidates = this.index.claims(repoId, oid, size)
    for (const c of candidates.slice(0, MAX_UNCLAIMED_CANDIDATES + 1)) {
      if (known && known.file_hash === c.file_hash) return known.size
      const digest = await this.sha256Of(c.file_hash, c.size)
      if (digest === oid) {
        this.index.recordObject(oid, c.file_hash, c.size)
        return c.size
      }
      if (c.claimed) this.log(`Xet file ${c.file_hash} claimed sha256 ${oid} but hashes to ${digest}`)
    }
    return undefined
  }

  private async sha256Of(fileHash: string, size: number): Promise<string> {
    const hash = createHash('sha256')
    if (size > 0) for await (const chunk of await this.reads.fileStream(fileHash, { start: 0, end: size - 1 })) hash.update(chunk as Buffer)
    return hash.digest('hex')
  }

  /** The Xet file behind a (verified) LFS object, or undefined. */
  fileOf(oid: string): { fileHash: string; size: number } | undefined {
    const o = this.index.object(oid)
    return o && { fileHash: o.file_hash, size: o.size }
  }

  /**
   * The Xet download signals of a resolve answer for an LFS object (docs/xet-protocol.md §1.3): the file
   * hash, the read-token URL (`xet-auth`) and the reconstruction URL; null for non-Xet objects.
   */
  downloadInfo(repo: RepoRow, commit: string, oid: string): { hash: string; refreshUrl: string; reconstructionUrl: string } | null {
    const o = this.index.object(oid)
    if (!o) return null
    return {
      hash: o.file_hash,
      refreshUrl: `${this.publicUrl()}/api/${TYPE_SEGMENT[repo.type]}/${repo.namespace}/${repo.name}/xet-read-token/${commit}`,
      reconstructionUrl: `${this.casUrl()}/v1/reconstructions/${o.file_hash}`,
    }
  }

  /** Streams an LFS object that only exists as a Xet file (or null if it is not one). */
  async readObject(oid: string, range?: ByteRange): Promise<Readable | null> {
    const o = this.index.object(oid)
    if (!o) return null
    return this.reads.fileStream(o.file_hash, range ?? { start: 0, end: o.size - 1 })
  }

  /** Totals over stored xorbs (tests and metrics). */
  stats() {
    return this.index.stats()
  }
}
