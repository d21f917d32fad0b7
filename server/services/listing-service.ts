import { sortValue, type ReposTable, type RepoRow, type RepoType, type SortKey } from '../../storage/db/repos-table.js'
import { checkCaller, readableNamespaces, type Actor } from '../auth/access.js'
import { errors } from '../errors.js'

export interface ListParams {
  search: string[]
  author: string | null
  filter: string[]
  sort: string | null
  direction: string | null
  limit: string | null
  cursor: string | null
}

const SORTS: Record<string, SortKey> = {
  lastModified: 'lastModified',
  last_modified: 'lastModified',
  createdAt: 'createdAt',
  created_at: 'createdAt',
  downloads: 'downloads',
  likes: 'likes',
  id: 'id',
  modelId: 'id',
}

/**
 * `GET /api/{models,datasets,spaces}` (docs/hub-api.md §10): filters and sorts in SQLite (indexes kept current
 * on every commit), keyset pagination with an opaque cursor, private repos only for their readers.
 */
export class ListingService {
  constructor(private readonly repos: ReposTable) {}

  page(type: RepoType, actor: Actor, p: ListParams): { rows: RepoRow[]; next: string | null } {
    const sort = SORTS[p.sort ?? ''] ?? 'lastModified'
    // py0 sends direction=-1 for descending; the Hub's default is descending too.
    const descending = p.direction === null || p.direction === '-1'
    let limit = 100
    if (p.limit !== null) {
      if (!/^\d{1,6}$/.test(p.limit) || Number(p.limit) < 1) throw errors.badRequest('limit must be a positive integer')
      limit = Math.min(Number(p.limit), 1000)
    }
    const after = p.cursor === null ? null : decodeListCursor(p.cursor, sort)
    checkCaller(actor)
    const viewer = { admin: actor.user?.is_admin === 1, namespaces: readableNamespaces(actor) }
    const rows = this.repos.list({
      type,
      viewer,
      search: p.search.filter((s) => s !== ''),
      author: p.author || null,
      tags: p.filter.filter((s) => s !== ''),
      sort,
      descending,
      limit: limit + 1,
      after,
    })
    const more = rows.length > limit
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    return { rows: page, next: more && last ? encodeListCursor(sort, sortValue(last, sort), last.id) : null }
  }

  /** Tags of the repos of one page, in one query. */
  tagsOf(ids: string[]): Map<string, string[]> {
    return this.repos.tagsOf(ids)
  }

  /** Changes with every committed change to the database: listings cached under it stay exact. */
  version(): string {
    return this.repos.dataVersion()
  }
}

function encodeListCursor(sort: SortKey, value: string | number, id: string): string {
  return Buffer.from(JSON.stringify([sort, value, id])).toString('base64url')
}

/** A cursor made by encodeListCursor for the same sort, or a 400 (tampered cursors never reach SQL as garbage). */
function decodeListCursor(cursor: string, sort: SortKey): { value: string | number; id: string } {
  const bad = () => errors.badRequest('Invalid cursor')
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) throw bad()
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw bad()
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw bad()
  const [s, value, id] = parsed as unknown[]
  if (s !== sort || typeof id !== 'string' || !/^[0-9a-f]{24}$/.test(id)) throw bad()
  const numeric = sort === 'downloads' || sort === 'likes'
  if (numeric ? !Number.isSafeInteger(value) : typeof value !== 'string') throw bad()
  return { value: value as string | number, id }
}
