import type { Membership, OrgRole, TokenRow, UserRow } from '../../storage/db/users-table.js'
import type { RepoRow } from '../../storage/db/repos-table.js'
import { errors } from '../errors.js'

/**
 * Who is calling. `badToken`: a token was sent but is unknown, revoked, expired or malformed.
 * `roles`: the caller's role in each org they belong to, keyed by the org's lowercased name.
 * `publicRead`: whether this caller may read public repos (false for anonymous callers when
 * HUBD_ANONYMOUS_READ=false).
 */
export interface Actor {
  user: UserRow | null
  token: TokenRow | null
  badToken: boolean
  memberships: readonly Membership[]
  roles: ReadonlyMap<string, OrgRole>
  publicRead: boolean
}

const NO_ROLES: ReadonlyMap<string, OrgRole> = new Map()

export const ANONYMOUS: Actor = Object.freeze({ user: null, token: null, badToken: false, memberships: [], roles: NO_ROLES, publicRead: true })
/** Anonymous callers when anonymous reads are switched off. */
export const ANONYMOUS_LOCKED: Actor = Object.freeze({ ...ANONYMOUS, publicRead: false })
export const BAD_TOKEN: Actor = Object.freeze({ ...ANONYMOUS, badToken: true, publicRead: false })

/**
 * What a caller does to a repo:
 * - `read`: see the repo and its files.
 * - `contribute`: open a PR or discussion, comment, and the uploads a PR needs (any signed-in
 *   reader with a write token, as on the Hub).
 * - `write`: move branches and tags (commit, push, merge).
 * - `admin`: delete, move, change settings.
 */
export type RepoAction = 'read' | 'contribute' | 'write' | 'admin'

/**
 * What depends on who wrote the thing acted on (`Facts.author`), as on the Hub. Each needs
 * `contribute`, and then:
 * - `commit`: commit to a ref. A PR's author may push to its ref (`refs/pr/N`); for anyone else,
 *   and for a branch (author null), `write`.
 * - `discussion.edit`: rename, close or reopen a discussion: its author, or `write`.
 * - `comment.edit`: edit a comment: its author only, whatever their rights.
 */
export type AuthorAction = 'commit' | 'discussion.edit' | 'comment.edit'

export type Action = RepoAction | AuthorAction

/** What an author rule needs to know about the thing acted on. */
export interface Facts {
  /** Its author's user name; null when it has none (a branch is nobody's PR). */
  author: string | null
}

/** What an author action asks of everyone but the author: an action, or a refusal. */
const NOT_AUTHOR: Record<AuthorAction, RepoAction | { refuse: string }> = {
  commit: 'write',
  'discussion.edit': 'write',
  'comment.edit': { refuse: 'Only the author of a comment may edit it' },
}

function isAuthorAction(action: Action): action is AuthorAction {
  return Object.hasOwn(NOT_AUTHOR, action)
}

const RANK: Record<OrgRole, number> = { read: 1, write: 2, admin: 3 }

/** The caller's standing in a namespace: 3 admin (site admin, own namespace), 2 write, 1 read, 0 none. */
export function rankIn(actor: Actor, namespace: string): number {
  const user = actor.user
  if (!user) return 0
  if (user.is_admin === 1) return 3
  const ns = namespace.toLowerCase()
  if (user.name.toLowerCase() === ns) return 3
  const role = actor.roles.get(ns)
  return role ? RANK[role] : 0
}

/** Whether `actor` may do `action` on `repo`: the rule `authorize` answers with, and listings filter by. */
export function can(actor: Actor, action: RepoAction, repo: Pick<RepoRow, 'namespace' | 'private'>): boolean {
  if (actor.badToken) return false
  const rank = rankIn(actor, repo.namespace)
  const readable = rank >= 1 || (repo.private === 0 && actor.publicRead)
  if (action === 'read') return readable
  if (actor.token?.role !== 'write') return false
  if (action === 'contribute') return readable && actor.user !== null
  return rank >= (action === 'write' ? 2 : 3)
}

/** Whether `actor` may create (or move) a repository into `namespace`. */
export function canCreateIn(actor: Actor, namespace: string): boolean {
  return !actor.badToken && actor.token?.role === 'write' && rankIn(actor, namespace) >= 2
}

/**
 * The one access decision, for every surface: throws the Hub's answer when `actor` may not do
 * `action` on `repo`: 401 for a bad token or a missing one where one is needed, RepoNotFound when
 * the repo is unreadable (existence never leaks), 403 when it is readable but the action is not
 * allowed. Author actions take the author of the thing acted on in `facts`.
 */
export function authorize(actor: Actor, action: Action, repo: Pick<RepoRow, 'namespace' | 'private'>, facts?: Facts): void {
  if (isAuthorAction(action)) {
    authorize(actor, 'contribute', repo)
    if (facts?.author != null && facts.author === actor.user?.name) return
    const others = NOT_AUTHOR[action]
    if (typeof others !== 'string') throw errors.forbidden(others.refuse)
    return authorize(actor, others, repo)
  }
  checkCaller(actor)
  if (!can(actor, 'read', repo)) throw errors.repoNotFound()
  if (action === 'read') return
  if (!actor.user) throw errors.unauthorized()
  if (can(actor, action, repo)) return
  if (actor.token?.role !== 'write') throw errors.forbidden('This action needs a token with the "write" role; yours is read-only')
  throw errors.forbidden(
    action === 'admin'
      ? 'You need admin rights on this repository (its owner, or an admin of its organization)'
      : 'You do not have write access to this repository (a write token of its owner or of an organization member with write access is needed)',
  )
}

/**
 * The checks every request that reads anything makes first: a token that was sent but is not
 * valid is refused everywhere (as on the Hub), and with anonymous reads off, so is no token.
 */
export function checkCaller(actor: Actor): void {
  if (actor.badToken) throw errors.invalidCredentials()
  if (!actor.user && !actor.publicRead) throw errors.unauthorized('This server requires a token for every request. Pass one with "Authorization: Bearer hf_..."')
}

/** For endpoints that always need a signed-in caller (whoami, create repo). */
export function requireUser(actor: Actor): UserRow {
  if (actor.badToken) throw errors.invalidCredentials()
  if (!actor.user) throw errors.unauthorized()
  return actor.user
}

/** Lowercased names of the namespaces whose private repos `actor` may read (listings). */
export function readableNamespaces(actor: Actor): string[] {
  if (!actor.user) return []
  return [actor.user.name.toLowerCase(), ...actor.roles.keys()]
}

/** The admin API's gate: the site admin only; mutations need a write token. */
export function requireSiteAdmin(actor: Actor, mutates: boolean): UserRow {
  const user = requireUser(actor)
  if (user.is_admin !== 1) throw errors.forbidden('Only the server admin may do this')
  if (mutates && actor.token?.role !== 'write') throw errors.forbidden('This action needs a token with the "write" role; yours is read-only')
  return user
}
