import type { TokenRow, UserRow } from '../../storage/db/users-repo.js'
import type { RepoRow } from '../../storage/db/repos-repo.js'
import { errors } from '../errors.js'

/** Who is calling. `badToken`: a token was sent but is unknown, revoked, expired or malformed. */
export interface Actor {
  user: UserRow | null
  token: TokenRow | null
  badToken: boolean
}

export const ANONYMOUS: Actor = Object.freeze({ user: null, token: null, badToken: false })

export type Action = 'read' | 'write'

/**
 * The one access decision. For now: the admin reads and writes everything, a user writes in their
 * own namespace with a write token, anyone reads public repos. (Organizations come with issue 5.)
 */
export function can(actor: Actor, action: Action, repo: Pick<RepoRow, 'namespace' | 'private'>): boolean {
  const user = actor.user
  const owns = user !== null && (user.is_admin === 1 || user.name.toLowerCase() === repo.namespace.toLowerCase())
  if (action === 'read') return repo.private === 0 || owns
  return owns && actor.token?.role === 'write'
}

/** Throws the Hub's answer when `actor` may not do `action` on `repo` (existence never leaks). */
export function authorize(actor: Actor, action: Action, repo: RepoRow): void {
  if (action === 'write' && actor.badToken) throw errors.invalidCredentials()
  // Readability first: an anonymous write to a private repo must answer exactly like one to a
  // missing repo (RepoNotFound), or the 401 would reveal that the repo exists.
  if (!can(actor, 'read', repo)) throw errors.repoNotFound()
  if (action === 'write' && !actor.user) throw errors.unauthorized()
  if (action === 'write' && !can(actor, 'write', repo)) {
    throw errors.forbidden('You do not have write access to this repository (a write token of its owner is needed)')
  }
}

/** For endpoints that always need a signed-in caller (whoami, create repo). */
export function requireUser(actor: Actor): UserRow {
  if (actor.badToken) throw errors.invalidCredentials()
  if (!actor.user) throw errors.unauthorized()
  return actor.user
}
