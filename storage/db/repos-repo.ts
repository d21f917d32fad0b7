import type { Db } from './open.js'
import { newId, nowIso } from './ids.js'

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
}

export class RepoExistsError extends Error {
  override name = 'RepoExistsError'
}

/** The repos table: identity, visibility and timestamps. Lookups are case-insensitive. */
export class ReposRepo {
  private readonly find_
  private readonly byId
  private readonly insert
  private readonly remove_
  private readonly touch_

  constructor(private readonly db: Db) {
    this.find_ = db.prepare<[string, string, string], RepoRow>(
      'SELECT * FROM repos WHERE type = ? AND namespace = ? AND name = ?',
    )
    this.byId = db.prepare<[string], RepoRow>('SELECT * FROM repos WHERE id = ?')
    this.insert = db.prepare(
      `INSERT INTO repos (id, type, namespace, name, private, sdk, created_at, last_modified)
       VALUES (@id, @type, @namespace, @name, @private, @sdk, @created_at, @last_modified)`,
    )
    this.remove_ = db.prepare('DELETE FROM repos WHERE id = ?')
    this.touch_ = db.prepare('UPDATE repos SET last_modified = ? WHERE id = ?')
  }

  find(type: RepoType, namespace: string, name: string): RepoRow | undefined {
    return this.find_.get(type, namespace, name)
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

  touch(id: string, when = nowIso()): void {
    this.touch_.run(when, id)
  }
}
