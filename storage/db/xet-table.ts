import type { Db } from './open.js'
import { nowIso } from './ids.js'

/** One chunk of a stored xorb, as the server computed it while verifying the xorb. */
export interface XetChunkRow {
  idx: number
  hash: string
  packed_start: number
  packed_end: number
  unpacked_start: number
  unpacked_length: number
}

export interface XetXorbRow {
  hash: string
  num_chunks: number
  packed_length: number
  unpacked_length: number
  created_at: string
  last_upload_at: string
}

/** A reconstruction term: chunks `[chunk_start, chunk_end)` of a xorb. */
export interface XetTermRow {
  xorb_hash: string
  chunk_start: number
  chunk_end: number
  unpacked_length: number
}

export interface XetFileRegistration {
  hash: string
  size: number
  terms: XetTermRow[]
  /** The sha256 the shard claims (string form = ordinary hex), or null. */
  sha256: string | null
}

/**
 * The Xet index (migration 0004): xorbs and their chunk tables, files and their terms, which
 * repo registered which file (with its claimed sha256), verified sha256 → file mappings, and the
 * global-dedup table. Hashes are Xet string forms.
 */
export class XetTable {
  private readonly xorb_
  private readonly insertXorbRow
  private readonly touchXorb
  private readonly insertChunk
  private readonly chunks_
  private readonly file_
  private readonly terms_
  private readonly insertFile
  private readonly insertTerm
  private readonly insertRepoFile
  private readonly repoFile_
  private readonly linkedFile
  private readonly claims_
  private readonly object_
  private readonly objectByFile
  private readonly insertObject
  private readonly insertLfsObject
  private readonly insertDedup
  private readonly dedup_
  private readonly shard_
  private readonly insertShard
  private readonly stats_

  constructor(private readonly db: Db) {
    this.xorb_ = db.prepare<[string], XetXorbRow>('SELECT * FROM xet_xorbs WHERE hash = ?')
    this.insertXorbRow = db.prepare(
      `INSERT INTO xet_xorbs (hash, num_chunks, packed_length, unpacked_length, created_at, last_upload_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    )
    this.touchXorb = db.prepare('UPDATE xet_xorbs SET last_upload_at = ? WHERE hash = ?')
    this.insertChunk = db.prepare(
      `INSERT INTO xet_chunks (xorb_hash, idx, hash, packed_start, packed_end, unpacked_start, unpacked_length)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    this.chunks_ = db.prepare<[string], XetChunkRow>(
      'SELECT idx, hash, packed_start, packed_end, unpacked_start, unpacked_length FROM xet_chunks WHERE xorb_hash = ? ORDER BY idx',
    )
    this.file_ = db.prepare<[string], { hash: string; size: number }>('SELECT hash, size FROM xet_files WHERE hash = ?')
    this.terms_ = db.prepare<[string], XetTermRow>(
      'SELECT xorb_hash, chunk_start, chunk_end, unpacked_length FROM xet_file_terms WHERE file_hash = ? ORDER BY idx',
    )
    this.insertFile = db.prepare('INSERT INTO xet_files (hash, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    this.insertTerm = db.prepare(
      `INSERT INTO xet_file_terms (file_hash, idx, xorb_hash, chunk_start, chunk_end, unpacked_length) VALUES (?, ?, ?, ?, ?, ?)`,
    )
    this.insertRepoFile = db.prepare(
      `INSERT INTO xet_repo_files (repo_id, file_hash, sha256, size, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (repo_id, file_hash) DO UPDATE SET sha256 = coalesce(excluded.sha256, sha256)`,
    )
    this.repoFile_ = db.prepare<[string, string], { size: number }>(
      'SELECT size FROM xet_repo_files WHERE repo_id = ? AND file_hash = ?',
    )
    // A file is also visible to a repo whose LFS pointers name its verified sha256.
    this.linkedFile = db.prepare<[string, string], { size: number }>(
      `SELECT o.size FROM xet_objects o JOIN repo_objects r ON r.oid = o.oid WHERE o.file_hash = ? AND r.repo_id = ? LIMIT 1`,
    )
    this.claims_ = db.prepare<{ repo: string; oid: string; size: number | null }, { file_hash: string; size: number; claimed: number }>(
      `SELECT file_hash, size, sha256 IS NOT NULL AS claimed FROM xet_repo_files
       WHERE repo_id = @repo AND (sha256 = @oid OR (sha256 IS NULL AND size = @size)) AND (@size IS NULL OR size = @size)
       ORDER BY claimed DESC, created_at DESC LIMIT 8`,
    )
    this.object_ = db.prepare<[string], { oid: string; file_hash: string; size: number }>(
      'SELECT oid, file_hash, size FROM xet_objects WHERE oid = ?',
    )
    this.objectByFile = db.prepare<[string], { oid: string }>('SELECT oid FROM xet_objects WHERE file_hash = ? LIMIT 1')
    this.insertObject = db.prepare(
      'INSERT INTO xet_objects (oid, file_hash, size, verified_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    )
    this.insertLfsObject = db.prepare('INSERT INTO lfs_objects (oid, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    this.insertDedup = db.prepare('INSERT INTO xet_dedup (chunk_hash, xorb_hash) VALUES (?, ?) ON CONFLICT DO NOTHING')
    this.dedup_ = db.prepare<[string, number], { xorb_hash: string }>(
      'SELECT xorb_hash FROM xet_dedup WHERE chunk_hash = ? LIMIT ?',
    )
    this.shard_ = db.prepare<[string, string], { hash: string }>('SELECT hash FROM xet_shards WHERE hash = ? AND repo_id = ?')
    this.insertShard = db.prepare('INSERT INTO xet_shards (hash, repo_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    this.stats_ = db.prepare<[], { xorbs: number; chunks: number; unpacked: number; packed: number }>(
      `SELECT (SELECT count(*) FROM xet_xorbs) AS xorbs, (SELECT count(*) FROM xet_chunks) AS chunks,
              (SELECT coalesce(sum(unpacked_length), 0) FROM xet_xorbs) AS unpacked,
              (SELECT coalesce(sum(packed_length), 0) FROM xet_xorbs) AS packed`,
    )
  }

  xorb(hash: string): XetXorbRow | undefined {
    return this.xorb_.get(hash)
  }

  /**
   * Records a verified xorb and its chunk table (after its bytes are published). An existing
   * xorb only gets its last-upload time refreshed (GC, docs/xet-protocol.md §5.4). Returns whether it was new.
   */
  recordXorb(hash: string, chunks: readonly Omit<XetChunkRow, 'idx'>[], packedLength: number): boolean {
    return this.db.transaction(() => {
      const now = nowIso()
      const unpacked = chunks.reduce((s, c) => s + c.unpacked_length, 0)
      const inserted = this.insertXorbRow.run(hash, chunks.length, packedLength, unpacked, now, now).changes > 0
      if (!inserted) {
        this.touchXorb.run(now, hash)
        return false
      }
      chunks.forEach((c, i) => this.insertChunk.run(hash, i, c.hash, c.packed_start, c.packed_end, c.unpacked_start, c.unpacked_length))
      return true
    })()
  }

  touch(hash: string): void {
    this.touchXorb.run(nowIso(), hash)
  }

  /** The chunk table of a stored xorb, in order (empty when unknown). */
  chunks(xorbHash: string): XetChunkRow[] {
    return this.chunks_.all(xorbHash)
  }

  file(hash: string): { hash: string; size: number; terms: XetTermRow[] } | undefined {
    const f = this.file_.get(hash)
    return f && { ...f, terms: this.terms_.all(hash) }
  }

  /**
   * Registers a verified shard's files for a repo in one transaction: files and terms (once per
   * hash), the repo's claims, global-dedup entries, and the shard id. Returns false when this
   * repo had already registered a byte-identical shard.
   */
  registerShard(
    shardId: string,
    repoId: string,
    files: readonly XetFileRegistration[],
    dedup: readonly { chunk: string; xorbs: readonly string[] }[],
  ): boolean {
    return this.db.transaction(() => {
      const now = nowIso()
      const fresh = this.insertShard.run(shardId, repoId, now).changes > 0
      for (const f of files) {
        if (this.insertFile.run(f.hash, f.size, now).changes > 0) {
          f.terms.forEach((t, i) => this.insertTerm.run(f.hash, i, t.xorb_hash, t.chunk_start, t.chunk_end, t.unpacked_length))
        }
        this.insertRepoFile.run(repoId, f.hash, f.sha256, f.size, now)
      }
      for (const d of dedup) for (const x of d.xorbs) this.insertDedup.run(d.chunk, x)
      return fresh
    })()
  }

  /** Whether the repo may reconstruct the file (docs/xet-protocol.md §5.3): registered by it, or named by its LFS pointers. */
  visible(repoId: string, fileHash: string): boolean {
    return this.repoFile_.get(repoId, fileHash) !== undefined || this.linkedFile.get(fileHash, repoId) !== undefined
  }

  /**
   * Files the repo registered that may be the object `sha256` (of `size`, if known): those whose
   * shard claimed it first, then those of that size whose shard claimed no sha256. Unverified.
   */
  claims(repoId: string, sha256: string, size: number | null): { file_hash: string; size: number; claimed: boolean }[] {
    return this.claims_.all({ repo: repoId, oid: sha256, size }).map((r) => ({ file_hash: r.file_hash, size: r.size, claimed: r.claimed === 1 }))
  }

  /** The verified Xet file behind an LFS object, if any. */
  object(oid: string): { oid: string; file_hash: string; size: number } | undefined {
    return this.object_.get(oid)
  }

  /** The sha256 of a file, if some commit verified it. */
  oidOfFile(fileHash: string): string | undefined {
    return this.objectByFile.get(fileHash)?.oid
  }

  /** Records a verified sha256 → file mapping, and the LFS object row so commits and batches see it. */
  recordObject(oid: string, fileHash: string, size: number): void {
    this.db.transaction(() => {
      const now = nowIso()
      this.insertObject.run(oid, fileHash, size, now)
      this.insertLfsObject.run(oid, size, now)
    })()
  }

  /** Xorbs the global-dedup index holds for a chunk. */
  dedupXorbs(chunkHash: string, limit: number): string[] {
    return this.dedup_.all(chunkHash, limit).map((r) => r.xorb_hash)
  }

  shardSeen(shardId: string, repoId: string): boolean {
    return this.shard_.get(shardId, repoId) !== undefined
  }

  /** Totals over stored xorbs (tests and metrics: what deduplication saved). */
  stats(): { xorbs: number; chunks: number; unpacked: number; packed: number } {
    return this.stats_.get()!
  }
}
