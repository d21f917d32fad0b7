import type { Db } from './open.js'
import { newId, nowIso } from './ids.js'

export type DiscussionStatus = 'draft' | 'open' | 'closed' | 'merged'

export interface DiscussionRow {
  repo_id: string
  num: number
  title: string
  is_pr: number
  status: DiscussionStatus
  author: string
  target_branch: string | null
  merge_commit: string | null
  created_at: string
}

/** Listing filters (py `get_repo_discussions`): null matches all. */
export interface ListFilter {
  repo: string
  isPr: 0 | 1 | null
  status: 'open' | 'closed' | null
  author: string | null
}

export interface EventRow {
  id: string
  type: string
  author: string
  data: string
  created_at: string
}

/** Discussions and pull requests of a repo, numbered 1, 2, … per repo, with their events. */
export class DiscussionsTable {
  private readonly nextNum
  private readonly insert
  private readonly get_
  private readonly list_
  private readonly count_
  private readonly setStatus_
  private readonly insertEvent
  private readonly events_
  private readonly event_
  private readonly setTitle_
  private readonly setEventData_

  constructor(private readonly db: Db) {
    this.nextNum = db.prepare<[string], { n: number }>('SELECT coalesce(max(num), 0) + 1 AS n FROM discussions WHERE repo_id = ?')
    this.insert = db.prepare(
      `INSERT INTO discussions (repo_id, num, title, is_pr, status, author, target_branch, created_at)
       VALUES (@repo_id, @num, @title, @is_pr, @status, @author, @target_branch, @created_at)`,
    )
    this.get_ = db.prepare<[string, number], DiscussionRow>('SELECT * FROM discussions WHERE repo_id = ? AND num = ?')
    // Filters are optional: a NULL parameter matches everything.
    const where = `repo_id = @repo AND (@isPr IS NULL OR is_pr = @isPr)
      AND (@status IS NULL OR (@status = 'open' AND status IN ('open', 'draft')) OR (@status = 'closed' AND status IN ('closed', 'merged')))
      AND (@author IS NULL OR author = @author)`
    this.list_ = db.prepare<[ListFilter & { limit: number; offset: number }], DiscussionRow>(
      `SELECT * FROM discussions WHERE ${where} ORDER BY num DESC LIMIT @limit OFFSET @offset`,
    )
    this.count_ = db.prepare<[ListFilter], { n: number }>(`SELECT count(*) AS n FROM discussions WHERE ${where}`)
    this.setStatus_ = db.prepare('UPDATE discussions SET status = ?, merge_commit = coalesce(?, merge_commit) WHERE repo_id = ? AND num = ?')
    this.insertEvent = db.prepare(
      'INSERT INTO discussion_events (id, repo_id, num, type, author, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    this.event_ = db.prepare<[string, number, string], EventRow>(
      'SELECT id, type, author, data, created_at FROM discussion_events WHERE repo_id = ? AND num = ? AND id = ?',
    )
    this.setTitle_ = db.prepare('UPDATE discussions SET title = ? WHERE repo_id = ? AND num = ?')
    this.setEventData_ = db.prepare('UPDATE discussion_events SET data = ? WHERE repo_id = ? AND num = ? AND id = ?')
    this.events_ = db.prepare<[string, number], EventRow>(
      'SELECT id, type, author, data, created_at FROM discussion_events WHERE repo_id = ? AND num = ? ORDER BY created_at, rowid',
    )
  }

  /**
   * Records a discussion under `num` (from peekNext). Returns false if another writer took the
   * number first (the primary key decides), so the caller retries with the next one.
   */
  create(row: Omit<DiscussionRow, 'created_at' | 'merge_commit'>): boolean {
    try {
      this.insert.run({ ...row, created_at: nowIso() })
      return true
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) return false
      throw err
    }
  }

  /** The number the next discussion would get. */
  peekNext(repoId: string): number {
    return this.nextNum.get(repoId)!.n
  }

  get(repoId: string, num: number): DiscussionRow | undefined {
    return this.get_.get(repoId, num)
  }

  /** A page of discussions, newest first, and how many match the filter in all. */
  list(filter: ListFilter, limit: number, offset: number): { rows: DiscussionRow[]; total: number } {
    return { rows: this.list_.all({ ...filter, limit, offset }), total: this.count_.get(filter)!.n }
  }

  setStatus(repoId: string, num: number, status: DiscussionStatus, mergeCommit: string | null = null): void {
    this.setStatus_.run(status, mergeCommit, repoId, num)
  }

  addEvent(repoId: string, num: number, type: string, author: string, data: Record<string, unknown>): EventRow {
    const row = { id: newId(), type, author, data: JSON.stringify(data), created_at: nowIso() }
    this.insertEvent.run(row.id, repoId, num, type, author, row.data, row.created_at)
    return row
  }

  event(repoId: string, num: number, id: string): EventRow | undefined {
    return this.event_.get(repoId, num, id)
  }

  setTitle(repoId: string, num: number, title: string): void {
    this.setTitle_.run(title, repoId, num)
  }

  /** Replaces an event's data (comment edits and hiding); returns the updated event. */
  setEventData(repoId: string, num: number, event: EventRow, data: Record<string, unknown>): EventRow {
    const updated = { ...event, data: JSON.stringify(data) }
    this.setEventData_.run(updated.data, repoId, num, event.id)
    return updated
  }

  /** Runs `fn` in one immediate transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate()
  }

  events(repoId: string, num: number): EventRow[] {
    return this.events_.all(repoId, num)
  }
}
