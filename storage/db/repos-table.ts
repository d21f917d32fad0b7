import type Database from 'better-sqlite3'
import type { Db } from './open.js'
import { newId, nowIso } from './ids.js'
import { dataVersionOf } from './data-version.js'

export type RepoType = 'model' | 'dataset' | 'space'

export interface RepoRow {
  id: string
  type: RepoType
  namespace: string
  name: string
  private: number
  origin: 'hosted' | 'mirror'
  default_branch: string
  sdk: string | null
  created_at: string
  last_modified: string
  sha: string | null
  downloads: number
  likes: number
  gated: 'auto' | 'manual' | null
  disabled: number
  card_data: string | null
  pipeline_tag: string | null
  library_name: string | null
  used_storage: number
  /** Bumped on every ref change (migration 0005); never read. */
  refs_epoch: number
}

/** What the indexer derives from the default branch's head. */
export interface RepoIndexFacts {
  sha: string
  lastModified: string
  cardData: Record<string, unknown> | null
  pipelineTag: string | null
  libraryName: string | null
  usedStorage: number
  tags: string[]
}

export class RepoExistsError extends Error {
  override name = 'RepoExistsError'
}

/** The repos table: identity, visibility and timestamps. Lookups are case-insensitive. */
export class ReposTable {
  private readonly find_
  private readonly byId
  private readonly insert
  private readonly remove_
  private readonly touch_
  private readonly refsMoved_
  private readonly tags_
  private readonly tagsMany
  private readonly download_
  private readonly redirect_
  private readonly indexTx
  private readonly moveTx
  private readonly listCache = new Map<string, Database.Statement>()

  constructor(private readonly db: Db) {
    this.find_ = db.prepare<[string, string, string], RepoRow>(
      'SELECT * FROM repos WHERE type = ? AND namespace = ? AND name = ?',
    )
    this.byId = db.prepare<[string], RepoRow>('SELECT * FROM repos WHERE id = ?')
    this.insert = db.prepare(
      `INSERT INTO repos (id, type, namespace, name, private, sdk, created_at, last_modified, search_key)
       VALUES (@id, @type, @namespace, @name, @private, @sdk, @created_at, @last_modified, lower(@namespace || '/' || @name))`,
    )
    this.remove_ = db.prepare('DELETE FROM repos WHERE id = ?')
    this.touch_ = db.prepare('UPDATE repos SET last_modified = ? WHERE id = ?')
    this.refsMoved_ = db.prepare('UPDATE repos SET refs_epoch = refs_epoch + 1 WHERE id = ?')
    this.tags_ = db.prepare<[string], { tag: string }>('SELECT tag FROM repo_tags WHERE repo_id = ? ORDER BY tag')
    this.tagsMany = db.prepare<[string], { repo_id: string; tag: string }>(
      'SELECT repo_id, tag FROM repo_tags WHERE repo_id IN (SELECT value FROM json_each(?)) ORDER BY repo_id, tag',
    )
    this.download_ = db.prepare('UPDATE repos SET downloads = downloads + ? WHERE id = ?')
    this.redirect_ = db.prepare<[string, string, string], RepoRow>(
      `SELECT r.* FROM repo_redirects x JOIN repos r ON r.id = x.repo_id WHERE x.type = ? AND x.namespace = ? AND x.name = ?`,
    )
    const update = db.prepare(
      `UPDATE repos SET sha = @sha, last_modified = @lastModified, card_data = @cardData, pipeline_tag = @pipelineTag,
       library_name = @libraryName, used_storage = @usedStorage WHERE id = @id`,
    )
    const clearTags = db.prepare('DELETE FROM repo_tags WHERE repo_id = ?')
    const addTag = db.prepare('INSERT OR IGNORE INTO repo_tags (repo_id, tag) VALUES (?, ?)')
    this.indexTx = db.transaction((id: string, f: RepoIndexFacts) => {
      update.run({ ...f, cardData: f.cardData ? JSON.stringify(f.cardData) : null, id })
      clearTags.run(id)
      for (const tag of f.tags) addTag.run(id, tag)
    })
    const rename = db.prepare(
      `UPDATE repos SET namespace = @namespace, name = @name, search_key = lower(@namespace || '/' || @name) WHERE id = @id`,
    )
    const dropRedirect = db.prepare('DELETE FROM repo_redirects WHERE type = ? AND namespace = ? AND name = ?')
    const addRedirect = db.prepare(
      'INSERT INTO repo_redirects (type, namespace, name, repo_id) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET repo_id = excluded.repo_id',
    )
    this.moveTx = db.transaction((repo: RepoRow, namespace: string, name: string) => {
      rename.run({ id: repo.id, namespace, name })
      // The new id may have been an old id of some repo: it now names this one.
      dropRedirect.run(repo.type, namespace, name)
      addRedirect.run(repo.type, repo.namespace, repo.name, repo.id)
    })
  }

  /**
   * Every request starts with this lookup, so rows (and misses) are remembered while the
   * database version stays the same: a hit costs two tiny statements instead of a 20-column
   * row (bench/metadata.mjs). Never inside a transaction, whose changes may still roll back.
   * The rows handed out are shared: callers never modify them.
   */
  find(type: RepoType, namespace: string, name: string): RepoRow | undefined {
    if (this.db.inTransaction) return this.find_.get(type, namespace, name)
    const version = this.dataVersion()
    if (version !== this.foundAt) {
      this.found.clear()
      this.foundAt = version
      this.generation_++
    }
    const key = `${type}\0${namespace}\0${name}`
    let row = this.found.get(key)
    if (row === undefined) {
      row = this.find_.get(type, namespace, name) ?? null
      if (this.found.size >= 10_000) this.found.clear()
      this.found.set(key, row)
    }
    return row ?? undefined
  }

  findById(id: string): RepoRow | undefined {
    return this.byId.get(id)
  }

  /** Inserts a repo row with a caller-chosen id (its directory already exists); throws RepoExistsError. */
  create(row: { id?: string; type: RepoType; namespace: string; name: string; private: boolean; sdk?: string | null }): RepoRow {
    const now = nowIso()
    const id = row.id ?? newId()
    try {
      this.insert.run({
        id,
        type: row.type,
        namespace: row.namespace,
        name: row.name,
        private: row.private ? 1 : 0,
        sdk: row.sdk ?? null,
        created_at: now,
        last_modified: now,
      })
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new RepoExistsError('repo exists')
      throw err
    }
    return this.findById(id)!
  }

  remove(id: string): void {
    this.remove_.run(id)
  }

  private all_: Database.Statement<[], RepoRow> | null = null
  private inNamespace_: Database.Statement<[string], { n: number }> | null = null

  /** Every repository (administration, not a request path). */
  all(): RepoRow[] {
    this.all_ ??= this.db.prepare<[], RepoRow>('SELECT * FROM repos ORDER BY namespace, type, name')
    return this.all_.all()
  }

  /** How many repositories a namespace holds (case-insensitive). */
  countInNamespace(namespace: string): number {
    this.inNamespace_ ??= this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM repos WHERE namespace = ?')
    return this.inNamespace_.get(namespace)!.n
  }

  /** Records that refs of the repo moved: other processes see it as a new database version. */
  refsMoved(id: string): void {
    this.refsMoved_.run(id)
  }

  touch(id: string, when = nowIso()): void {
    this.touch_.run(when, id)
  }

  /** Stores what the indexer derived from the default branch, tags included, in one transaction. */
  index(id: string, facts: RepoIndexFacts): void {
    this.indexTx(id, facts)
  }

  tagsOf(ids: string[]): Map<string, string[]> {
    const out = new Map<string, string[]>()
    if (ids.length === 0) return out
    const rows = this.tagsMany.all(JSON.stringify(ids))
    for (const r of rows) out.set(r.repo_id, [...(out.get(r.repo_id) ?? []), r.tag])
    return out
  }

  tags(id: string): string[] {
    return this.tags_.all(id).map((r) => r.tag)
  }

  /** Adds download counts (repo id → count) in one transaction. */
  addDownloads(counts: Map<string, number>): void {
    this.db.transaction(() => {
      for (const [id, n] of counts) this.download_.run(n, id)
    })()
  }

  setPrivate(id: string, isPrivate: boolean): void {
    this.db.prepare('UPDATE repos SET private = ? WHERE id = ?').run(isPrivate ? 1 : 0, id)
  }

  setGated(id: string, gated: 'auto' | 'manual' | null): void {
    this.db.prepare('UPDATE repos SET gated = ? WHERE id = ?').run(gated, id)
  }

  /** Renames (or transfers) a repo and leaves a redirect at the old id; throws RepoExistsError. */
  move(repo: RepoRow, namespace: string, name: string): void {
    try {
      this.moveTx(repo, namespace, name)
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new RepoExistsError('target exists')
      throw err
    }
  }

  /** The repo an old (moved-away) id now points at. */
  redirect(type: RepoType, namespace: string, name: string): RepoRow | undefined {
    return this.redirect_.get(type, namespace, name)
  }

  private readonly found = new Map<string, RepoRow | null>()
  private foundAt = ''
  private generation_ = 0

  /**
   * Changes whenever `find` sees a new database version: a stamp for what may be reused until
   * then (GitRepo.sharedRefs). Requests look their repo up first, so it is as fresh as the request.
   */
  get generation(): number {
    return this.generation_
  }

  /**
   * Changes whenever a change to the database commits, from this connection or any other (other
   * processes included): what is cached under it can never be stale (data-version.ts).
   */
  dataVersion(): string {
    return dataVersionOf(this.db).current()
  }

  /** One page of a listing, sorted, filtered and restricted to what the viewer may see. */
  list(q: ListQuery): RepoRow[] {
    const where = ['r.type = @type', '(r.private = 0 OR @admin = 1 OR r.namespace IN (SELECT value FROM json_each(@namespaces)))']
    const params: Record<string, unknown> = {
      type: q.type,
      admin: q.viewer.admin ? 1 : 0,
      namespaces: JSON.stringify(q.viewer.namespaces),
      limit: q.limit,
    }
    q.search.forEach((term, i) => {
      where.push(`instr(r.search_key, @search${i}) > 0`)
      params[`search${i}`] = term.toLowerCase()
    })
    if (q.author !== null) {
      where.push('r.namespace = @author')
      params.author = q.author
    }
    q.tags.forEach((tag, i) => {
      where.push(`EXISTS (SELECT 1 FROM repo_tags t WHERE t.repo_id = r.id AND t.tag = @tag${i})`)
      params[`tag${i}`] = tag
    })
    const col = SORT_COLUMNS[q.sort]
    const dir = q.descending ? 'DESC' : 'ASC'
    const cmp = q.descending ? '<' : '>'
    if (q.after) {
      where.push(`(${col} ${cmp} @afterValue OR (${col} = @afterValue AND r.id ${cmp} @afterId))`)
      params.afterValue = q.after.value
      params.afterId = q.after.id
    }
    const sql = `SELECT r.* FROM repos r WHERE ${where.join(' AND ')} ORDER BY ${col} ${dir}, r.id ${dir} LIMIT @limit`
    let stmt = this.listCache.get(sql)
    if (!stmt) {
      stmt = this.db.prepare(sql)
      this.listCache.set(sql, stmt)
    }
    return stmt.all(params) as RepoRow[]
  }
}

export type SortKey = 'lastModified' | 'createdAt' | 'downloads' | 'likes' | 'id'

/** Sort keys of listings and the indexed column each uses. */
export const SORT_COLUMNS: Record<SortKey, string> = {
  lastModified: 'r.last_modified',
  createdAt: 'r.created_at',
  downloads: 'r.downloads',
  likes: 'r.likes',
  id: 'r.search_key',
}

export interface ListQuery {
  type: RepoType
  viewer: { admin: boolean; namespaces: string[] }
  search: string[]
  author: string | null
  tags: string[]
  sort: SortKey
  descending: boolean
  limit: number
  /** Keyset cursor: the sort value and id of the last row of the previous page. */
  after: { value: string | number; id: string } | null
}

/** The value a row sorts by, for keyset cursors. */
export function sortValue(row: RepoRow, sort: SortKey): string | number {
  switch (sort) {
    case 'lastModified':
      return row.last_modified
    case 'createdAt':
      return row.created_at
    case 'downloads':
      return row.downloads
    case 'likes':
      return row.likes
    case 'id':
      return `${row.namespace}/${row.name}`.toLowerCase()
  }
}
