import type { Db } from './open.js'
import { nowIso } from './ids.js'

export interface GitBlobInfo {
  oid: string
  size: number
  lfs_oid: string | null
  lfs_size: number | null
}

export interface MultipartUpload {
  id: string
  repo_id: string
  oid: string
  size: number
  chunk_size: number
  created_at: string
}

/**
 * The LFS index: objects in the blob store, which repo may use which object, facts about git
 * blobs (real size, pointer target), and multipart uploads in progress.
 */
export class LfsTable {
  private readonly object_
  private readonly insertObject
  private readonly linkStmt
  private readonly linked_
  private readonly readableLink
  private readonly anyLink
  private readonly blob_
  private readonly insertBlob
  private readonly insertUpload
  private readonly upload_
  private readonly deleteUpload
  private readonly upsertPart
  private readonly parts_
  private readonly recordAndLink
  private readonly expired

  constructor(private readonly db: Db) {
    this.object_ = db.prepare<[string], { oid: string; size: number }>('SELECT oid, size FROM lfs_objects WHERE oid = ?')
    this.insertObject = db.prepare('INSERT INTO lfs_objects (oid, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    this.linkStmt = db.prepare('INSERT INTO repo_objects (repo_id, oid, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    this.linked_ = db.prepare<[string, string], { size: number }>(
      `SELECT o.size FROM repo_objects r JOIN lfs_objects o ON o.oid = r.oid WHERE r.repo_id = ? AND r.oid = ?`,
    )
    // Other repos holding the object that are public: anyone may reuse what anyone may download.
    this.readableLink = db.prepare<[string], { size: number }>(
      `SELECT o.size FROM repo_objects r JOIN repos p ON p.id = r.repo_id JOIN lfs_objects o ON o.oid = r.oid
       WHERE r.oid = ? AND p.private = 0 LIMIT 1`,
    )
    this.anyLink = db.prepare<[string], { size: number }>(
      `SELECT o.size FROM repo_objects r JOIN lfs_objects o ON o.oid = r.oid WHERE r.oid = ? LIMIT 1`,
    )
    this.blob_ = db.prepare<[string], GitBlobInfo>('SELECT * FROM git_blobs WHERE oid = ?')
    this.insertBlob = db.prepare(
      'INSERT INTO git_blobs (oid, size, lfs_oid, lfs_size) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    )
    this.insertUpload = db.prepare(
      `INSERT INTO multipart_uploads (id, repo_id, oid, size, chunk_size, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    )
    this.upload_ = db.prepare<[string], MultipartUpload>('SELECT * FROM multipart_uploads WHERE id = ?')
    this.deleteUpload = db.prepare('DELETE FROM multipart_uploads WHERE id = ?')
    this.upsertPart = db.prepare(
      `INSERT INTO multipart_parts (upload_id, part, size, etag) VALUES (?, ?, ?, ?)
       ON CONFLICT (upload_id, part) DO UPDATE SET size = excluded.size, etag = excluded.etag`,
    )
    this.parts_ = db.prepare<[string], { part: number; size: number; etag: string }>(
      'SELECT part, size, etag FROM multipart_parts WHERE upload_id = ? ORDER BY part',
    )
    this.expired = db.prepare<[string], { id: string }>('SELECT id FROM multipart_uploads WHERE created_at < ?')
    this.recordAndLink = db.transaction((repoId: string, oid: string, size: number) => {
      const now = nowIso()
      this.insertObject.run(oid, size, now)
      this.linkStmt.run(repoId, oid, now)
    })
  }

  object(oid: string): { oid: string; size: number } | undefined {
    return this.object_.get(oid)
  }

  /** Records a stored object and links it to the repo that uploaded it (after the bytes are in place). */
  recordUpload(repoId: string, oid: string, size: number): void {
    this.recordAndLink(repoId, oid, size)
  }

  link(repoId: string, oid: string): void {
    this.linkStmt.run(repoId, oid, nowIso())
  }

  /**
   * Size of the object if the repo may reference it (docs/hub-api.md §5.10): linked to the repo itself, or
   * linked to a repo the caller can read — a public one, or any repo when `readsAll` (admin).
   * @TODO: per-user read rights once accounts land (issue 5).
   */
  reusableSize(repoId: string, oid: string, readsAll: boolean): number | undefined {
    const own = this.linked_.get(repoId, oid)?.size ?? this.readableLink.get(oid)?.size
    if (own !== undefined || !readsAll) return own
    return this.anyLink.get(oid)?.size
  }

  linkedSize(repoId: string, oid: string): number | undefined {
    return this.linked_.get(repoId, oid)?.size
  }

  blob(oid: string): GitBlobInfo | undefined {
    return this.blob_.get(oid)
  }

  /** Looks up many blob ids inside one read transaction (a tree listing asks for hundreds). */
  blobs(oids: readonly string[]): Map<string, GitBlobInfo> {
    const out = new Map<string, GitBlobInfo>()
    this.db.transaction(() => {
      for (const oid of oids) {
        const row = this.blob_.get(oid)
        if (row) out.set(oid, row)
      }
    })()
    return out
  }

  recordBlob(info: GitBlobInfo): void {
    this.insertBlob.run(info.oid, info.size, info.lfs_oid, info.lfs_size)
  }

  recordBlobs(infos: readonly GitBlobInfo[]): void {
    this.db.transaction(() => {
      for (const b of infos) this.insertBlob.run(b.oid, b.size, b.lfs_oid, b.lfs_size)
    })()
  }

  createUpload(u: Omit<MultipartUpload, 'created_at'>): void {
    this.insertUpload.run(u.id, u.repo_id, u.oid, u.size, u.chunk_size, nowIso())
  }

  upload(id: string): MultipartUpload | undefined {
    return this.upload_.get(id)
  }

  recordPart(uploadId: string, part: number, size: number, etag: string): void {
    this.upsertPart.run(uploadId, part, size, etag)
  }

  parts(uploadId: string): { part: number; size: number; etag: string }[] {
    return this.parts_.all(uploadId)
  }

  /** Multipart uploads started before `beforeIso` (their URLs have expired). */
  expiredUploads(beforeIso: string): string[] {
    return this.expired.all(beforeIso).map((r) => r.id)
  }

  finishUpload(uploadId: string): void {
    this.deleteUpload.run(uploadId)
  }
}
