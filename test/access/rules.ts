/**
 * The access rules of issue 5, written again from the design doc (not imported from server/), so
 * the matrix test compares the server against an independent reading of the rules. Not a test file.
 */

export type OrgRole = 'read' | 'write' | 'admin'

/** A caller as the test sees it. */
export interface ActorSpec {
  label: string
  /** null: no Authorization header. */
  token: string | null
  /** The signed-in user's name (null for anonymous and for bad tokens). */
  user: string | null
  tokenRole: 'read' | 'write' | null
  /** Unknown, revoked, expired or malformed token. */
  bad: boolean
  siteAdmin: boolean
  /** Org memberships, lowercased org name → role. */
  orgs: Record<string, OrgRole>
}

export interface RepoSpec {
  namespace: string
  name: string
  private: boolean
}

/** What a family needs: read, write, admin, contribute (open a PR), create (in the namespace). */
export type Need = 'read' | 'write' | 'admin' | 'contribute' | 'create'

/** Dialect of the surface: the Hub API (404 hides), or git / git-lfs (anonymous gets the 401 challenge). */
export type Dialect = 'api' | 'git'

export interface Expected {
  status: number
  /** X-Error-Code that must be sent (RepoNotFound), or null when it must not be RepoNotFound. */
  code?: 'RepoNotFound' | null
  /** The bad-token wording of the 401. */
  invalidCredentials?: boolean
}

const RANK = { none: 0, read: 1, write: 2, admin: 3 } as const

/** Namespace rank: site admin → admin; own namespace → admin; org member → role; else none. */
export function rank(actor: ActorSpec, namespace: string): number {
  if (actor.bad || actor.user === null) return 0
  if (actor.siteAdmin) return RANK.admin
  const ns = namespace.toLowerCase()
  if (actor.user.toLowerCase() === ns) return RANK.admin
  const role = actor.orgs[ns]
  return role ? RANK[role] : 0
}

export function canRead(actor: ActorSpec, repo: RepoSpec, anonymousRead = true): boolean {
  if (actor.bad) return false
  if (actor.user === null) return !repo.private && anonymousRead
  return !repo.private || rank(actor, repo.namespace) >= RANK.read
}

/**
 * The answer the design doc promises for `actor` doing something that needs `need` on `repo`
 * (a successful call answers `okStatus`).
 */
export function expected(actor: ActorSpec, need: Need, repo: RepoSpec, opts: { dialect?: Dialect; okStatus?: number; anonymousRead?: boolean } = {}): Expected {
  const ok: Expected = { status: opts.okStatus ?? 200 }
  const dialect = opts.dialect ?? 'api'
  const anonymousRead = opts.anonymousRead ?? true
  // A token that was sent but is not valid: 401 everywhere, public reads included.
  if (actor.bad) return { status: 401, code: null, invalidCredentials: true }
  const anonymous = actor.user === null
  if (need === 'create') {
    if (anonymous) return { status: 401, code: null }
    return actor.tokenRole === 'write' && rank(actor, repo.namespace) >= RANK.write ? ok : { status: 403, code: null }
  }
  if (anonymous && !anonymousRead) return { status: 401, code: null }
  if (!canRead(actor, repo, anonymousRead)) {
    // git only sends credentials after a 401, so an anonymous git caller is challenged instead.
    if (anonymous && dialect === 'git') return { status: 401, code: null }
    return { status: 404, code: 'RepoNotFound' }
  }
  if (need === 'read') return ok
  if (anonymous) return { status: 401, code: null }
  if (actor.tokenRole !== 'write') return { status: 403, code: null }
  if (need === 'contribute') return ok
  const needed = need === 'admin' ? RANK.admin : RANK.write
  return rank(actor, repo.namespace) >= needed ? ok : { status: 403, code: null }
}

export function describe(e: Expected): string {
  return e.code ? `${e.status} ${e.code}` : String(e.status)
}
