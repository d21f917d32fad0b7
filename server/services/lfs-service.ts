import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { LfsTable } from '../../storage/db/lfs-table.js'
import type { RepoRow } from '../../storage/db/repos-table.js'
import { BlobNotFoundError, BlobVerifyError, SHA256_RE, type BlobStore, type ByteRange } from '../../storage/blobs/blob-store.js'
import type { UrlSigner } from '../auth/signed-url.js'
import { errors } from '../errors.js'
import { shield } from './body-shield.js'

export interface BatchObject {
  oid: string
  size: number
}

export interface BatchAnswerObject {
  oid: string
  size: number
  authenticated?: boolean
  actions?: Record<string, { href: string; header?: Record<string, string>; expires_in?: number }>
  error?: { code: number; message: string }
}

/** Download URLs are short-lived: git-lfs asks again (a new batch) once one has expired. */
const DOWNLOAD_URL_TTL = 3600

export interface LfsLimits {
  multipartChunkSize: number
  maxObjectSize: number
  signedUrlTtl: number
}

/**
 * The LFS side of uploads (docs/hub-api.md §5.6–5.10): batch answers with signed URLs, verified basic and
 * multipart uploads, and the repo ↔ object links that decide who may reference what.
 */
export class LfsService {
  constructor(
    private readonly lfs: LfsTable,
    private readonly blobs: BlobStore,
    private readonly signer: UrlSigner,
    private readonly limits: LfsLimits,
    private readonly publicUrl: () => string,
  ) {}

  /** Answers an upload batch. Objects the repo may already use get no `actions` at all (docs/hub-api.md §5.6). */
  async batchUpload(
    repo: RepoRow,
    objects: BatchObject[],
    transfers: string[],
    readsAll: boolean,
  ): Promise<{ transfer: 'basic' | 'multipart'; objects: BatchAnswerObject[] }> {
    const multipartOffered = transfers.includes('multipart')
    let usesMultipart = false
    const answers: BatchAnswerObject[] = []
    for (const { oid, size } of objects) {
      if (!SHA256_RE.test(oid)) {
        answers.push({ oid, size, error: { code: 422, message: 'oid must be a lowercase sha256 (64 hex characters)' } })
        continue
      }
      if (size > this.limits.maxObjectSize) {
        answers.push({ oid, size, error: { code: 413, message: `object is larger than the limit of ${this.limits.maxObjectSize} bytes` } })
        continue
      }
      const known = this.lfs.reusableSize(repo.id, oid, readsAll)
      if (known === size && (await this.blobs.stat(oid))?.size === size) {
        // Reuse from another readable repo: link it now so this repo's commit may name it.
        this.lfs.link(repo.id, oid)
        answers.push({ oid, size, authenticated: true })
        continue
      }
      if (multipartOffered && size > this.limits.multipartChunkSize) {
        usesMultipart = true
        answers.push({ oid, size, authenticated: true, actions: { upload: await this.multipartAction(repo, oid, size) } })
        continue
      }
      const q = `repo=${repo.id}&size=${size}&${this.signer.sign(['upload', repo.id, oid, size], this.limits.signedUrlTtl)}`
      const verifyQ = `repo=${repo.id}&size=${size}&${this.signer.sign(['verify', repo.id, oid, size], this.limits.signedUrlTtl)}`
      answers.push({
        oid,
        size,
        authenticated: true,
        actions: {
          upload: { href: `${this.publicUrl()}/api/lfs/upload/${oid}?${q}`, expires_in: this.limits.signedUrlTtl },
          verify: { href: `${this.publicUrl()}/api/lfs/verify/${oid}?${verifyQ}`, expires_in: this.limits.signedUrlTtl },
        },
      })
    }
    return { transfer: usesMultipart ? 'multipart' : 'basic', objects: answers }
  }

  private async multipartAction(repo: RepoRow, oid: string, size: number) {
    const chunk = this.limits.multipartChunkSize
    const id = randomBytes(16).toString('hex')
    await this.blobs.createStaging(id, size)
    this.lfs.createUpload({ id, repo_id: repo.id, oid, size, chunk_size: chunk })
    const base = `${this.publicUrl()}/api/lfs/multipart/${id}`
    const header: Record<string, string> = { chunk_size: String(chunk) }
    const parts = Math.ceil(size / chunk)
    for (let n = 1; n <= parts; n++) {
      header[String(n)] = `${base}/part/${n}?${this.signer.sign(['part', id, n], this.limits.signedUrlTtl)}`
    }
    return {
      href: `${base}/complete?${this.signer.sign(['complete', id], this.limits.signedUrlTtl)}`,
      header,
      expires_in: this.limits.signedUrlTtl,
    }
  }

  /**
   * Answers a download batch (git-lfs): short-lived signed URLs bound to (repo, oid, size), for
   * objects stored and linked to this repo; anything else is a per-object 404 (batch.md).
   */
  async batchDownload(repo: RepoRow, objects: BatchObject[]): Promise<{ transfer: 'basic'; objects: BatchAnswerObject[] }> {
    const ttl = Math.min(DOWNLOAD_URL_TTL, this.limits.signedUrlTtl)
    const answers: BatchAnswerObject[] = []
    for (const { oid, size } of objects) {
      if (!SHA256_RE.test(oid)) {
        answers.push({ oid, size, error: { code: 422, message: 'oid must be a lowercase sha256 (64 hex characters)' } })
        continue
      }
      const linked = this.lfs.linkedSize(repo.id, oid)
      if (linked === undefined || (await this.blobs.stat(oid))?.size !== linked) {
        answers.push({ oid, size, error: { code: 404, message: 'Object does not exist' } })
        continue
      }
      if (linked !== size) {
        answers.push({ oid, size, error: { code: 422, message: `size ${size} does not match the stored object (${linked} bytes)` } })
        continue
      }
      const q = `repo=${repo.id}&size=${size}&${this.signer.sign(['download', repo.id, oid, size], ttl)}`
      answers.push({
        oid,
        size,
        authenticated: true,
        actions: { download: { href: `${this.publicUrl()}/api/lfs/download/${oid}?${q}`, expires_in: ttl } },
      })
    }
    return { transfer: 'basic', objects: answers }
  }

  /** Checks a signed URL's signature or throws 403. */
  checkSignature(fields: readonly (string | number)[], query: { exp?: unknown; sig?: unknown }, what = 'Upload'): void {
    const problem = this.signer.problem(fields, query.exp, query.sig)
    if (problem) throw errors.forbidden(`${what} URL rejected: ${problem}`)
  }

  /**
   * A stored object linked to the repo (or an inclusive byte range of it), for a download URL;
   * null when the repo no longer has it.
   */
  async read(repo: RepoRow, oid: string, size: number, range?: ByteRange): Promise<Readable | null> {
    if (this.lfs.linkedSize(repo.id, oid) !== size) return null
    try {
      return await this.blobs.read(oid, range)
    } catch (err) {
      if (err instanceof BlobNotFoundError) return null
      throw err
    }
  }

  /** Basic transfer: streams, verifies, publishes, then links (the bytes exist before the row). */
  async upload(repo: RepoRow, oid: string, size: number, body: Readable): Promise<void> {
    const shielded = shield(body)
    try {
      await this.blobs.put(shielded.stream, { oid, size })
    } catch (err) {
      shielded.release()
      if (err instanceof BlobVerifyError) throw errors.badRequest(`Upload rejected: ${err.message}`)
      throw err
    }
    this.lfs.recordUpload(repo.id, oid, size)
  }

  async uploadPart(uploadId: string, part: number, body: Readable): Promise<string> {
    const upload = this.lfs.upload(uploadId)
    if (!upload) throw errors.badRequest('Unknown or finished multipart upload')
    const parts = Math.ceil(upload.size / upload.chunk_size)
    if (part < 1 || part > parts) throw errors.badRequest(`part number must be between 1 and ${parts}`)
    const offset = (part - 1) * upload.chunk_size
    const length = Math.min(upload.chunk_size, upload.size - offset)
    const shielded = shield(body)
    try {
      await this.blobs.writeStaging(uploadId, offset, length, shielded.stream)
    } catch (err) {
      shielded.release()
      if (err instanceof BlobVerifyError) throw errors.badRequest(`Part rejected: ${err.message}`)
      throw err
    }
    const etag = `"${uploadId.slice(0, 8)}-${part}-${length}"`
    this.lfs.recordPart(uploadId, part, length, etag)
    return etag
  }

  /** Completion: every part present with the ETag it was given, then hash-verified as a whole. */
  async completeMultipart(uploadId: string, body: { oid?: unknown; parts?: unknown }): Promise<void> {
    const upload = this.lfs.upload(uploadId)
    if (!upload) throw errors.badRequest('Unknown or finished multipart upload')
    if (body.oid !== undefined && body.oid !== upload.oid) throw errors.badRequest('oid does not match this upload')
    const expectedParts = Math.ceil(upload.size / upload.chunk_size)
    const stored = this.lfs.parts(uploadId)
    if (stored.length !== expectedParts) {
      throw errors.badRequest(`missing parts: received ${stored.length} of ${expectedParts}`)
    }
    if (Array.isArray(body.parts)) {
      for (const p of body.parts as { partNumber?: unknown; etag?: unknown }[]) {
        const s = stored[Number(p.partNumber) - 1]
        if (!s || s.etag !== p.etag) throw errors.badRequest(`part ${String(p.partNumber)}: unknown part or ETag mismatch`)
      }
    }
    try {
      await this.blobs.commitStaging(uploadId, { oid: upload.oid, size: upload.size })
    } catch (err) {
      if (err instanceof BlobVerifyError) {
        await this.blobs.abortStaging(uploadId)
        this.lfs.finishUpload(uploadId)
        throw errors.badRequest(`Upload rejected: ${err.message}`)
      }
      throw err
    }
    this.lfs.recordUpload(upload.repo_id, upload.oid, upload.size)
    this.lfs.finishUpload(uploadId)
  }

  /** Drops multipart uploads whose URLs have expired, staging bytes first. */
  async expireUploads(): Promise<void> {
    const before = new Date(Date.now() - this.limits.signedUrlTtl * 1000).toISOString()
    for (const id of this.lfs.expiredUploads(before)) {
      await this.blobs.abortStaging(id)
      this.lfs.finishUpload(id)
    }
  }

  /** Verify action: the object is stored with that size and linked to the repo. */
  verify(repo: RepoRow, oid: string, size: number): boolean {
    return this.lfs.linkedSize(repo.id, oid) === size
  }
}
