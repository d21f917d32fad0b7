import type { UsersTable } from '../../storage/db/users-table.js'
import { ANONYMOUS, ANONYMOUS_LOCKED, BAD_TOKEN, type Actor } from './access.js'
import { hashToken } from './tokens.js'

const TOUCH_INTERVAL_MS = 60_000
const CACHE_MAX = 10_000

/**
 * Turns an Authorization header into an Actor. Never throws: the access decision says what a bad
 * token means. Identities are cached per token under the database's data version, so a token
 * revoked or a membership changed by another process (the CLI) takes effect on the next request.
 */
export class Authenticator {
  private readonly lastTouched = new Map<string, number>()
  private readonly cache = new Map<string, Actor | null>()
  private cachedAt = ''
  private readonly anonymous: Actor

  constructor(
    private readonly users: UsersTable,
    opts: { anonymousRead: boolean } = { anonymousRead: true },
  ) {
    this.anonymous = opts.anonymousRead ? ANONYMOUS : ANONYMOUS_LOCKED
  }

  actorFor(header: string | undefined): Actor {
    if (header === undefined || header === '') return this.anonymous
    const token = extractToken(header)
    if (!token) return BAD_TOKEN
    const actor = this.lookup(token)
    if (!actor) return BAD_TOKEN
    // Expiry is a matter of time, not of data: checked on every use, never cached.
    const expires = actor.token!.expires_at
    if (expires !== null && Date.parse(expires) <= Date.now()) return BAD_TOKEN
    this.touch(actor.token!.id)
    return actor
  }

  private lookup(token: string): Actor | null {
    const version = this.users.dataVersion()
    if (version !== this.cachedAt || this.cache.size > CACHE_MAX) {
      this.cache.clear()
      this.cachedAt = version
    }
    const hash = hashToken(token)
    let actor = this.cache.get(hash)
    if (actor === undefined) {
      actor = this.load(hash)
      this.cache.set(hash, actor)
    }
    return actor
  }

  private load(hash: string): Actor | null {
    const row = this.users.findTokenByHash(hash)
    if (!row || row.revoked_at) return null
    const user = this.users.findById(row.user_id)
    // An org's tokens are not a thing: only people sign in.
    if (!user || user.type !== 'user') return null
    const memberships = this.users.memberships(user.id)
    return Object.freeze({
      user,
      token: row,
      badToken: false,
      memberships,
      roles: new Map(memberships.map((m) => [m.org.toLowerCase(), m.role])),
      publicRead: true,
    })
  }

  /** Records last use at most once a minute per token, keeping writes off the hot path. */
  private touch(tokenId: string): void {
    const now = Date.now()
    if (now - (this.lastTouched.get(tokenId) ?? 0) < TOUCH_INTERVAL_MS) return
    this.lastTouched.set(tokenId, now)
    this.users.markUsed(tokenId)
  }
}

/** `Bearer <token>`, or Basic with the token as password (git). Null when malformed. */
export function extractToken(header: string): string | null {
  const m = /^(\w+)\s+(\S+)\s*$/.exec(header)
  if (!m) return null
  const scheme = m[1]!.toLowerCase()
  if (scheme === 'bearer') return validShape(m[2]!)
  if (scheme === 'basic') {
    const decoded = Buffer.from(m[2]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon < 0 ? null : validShape(decoded.slice(colon + 1))
  }
  return null
}

function validShape(token: string): string | null {
  return /^hf_[A-Za-z0-9_-]{8,200}$/.test(token) ? token : null
}
