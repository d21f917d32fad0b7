import type { UsersRepo } from '../../storage/db/users-repo.js'
import { ANONYMOUS, type Actor } from './access.js'
import { hashToken } from './tokens.js'

const TOUCH_INTERVAL_MS = 60_000

/** Turns an Authorization header into an Actor. Never throws: routes decide what a bad token means. */
export class Authenticator {
  private readonly lastTouched = new Map<string, number>()

  constructor(private readonly users: UsersRepo) {}

  actorFor(header: string | undefined): Actor {
    if (header === undefined || header === '') return ANONYMOUS
    const token = extractToken(header)
    if (!token) return { ...ANONYMOUS, badToken: true }
    const row = this.users.findTokenByHash(hashToken(token))
    if (!row || row.revoked_at || (row.expires_at && Date.parse(row.expires_at) < Date.now())) {
      return { ...ANONYMOUS, badToken: true }
    }
    const user = this.users.findById(row.user_id) ?? null
    if (!user) return { ...ANONYMOUS, badToken: true }
    this.touch(row.id)
    return { user, token: row, badToken: false }
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
