import { createHmac, timingSafeEqual } from 'node:crypto'

export type CasScope = 'read' | 'write'

/** What a CAS access token grants: one repo, read or write (write implies read), until `exp`. */
export interface CasGrant {
  repoId: string
  scope: CasScope
  /** Unix seconds. */
  exp: number
  /** The Hub user it was issued to (logs), or null for anonymous reads of public repos. */
  user: string | null
}

/** Tokens are accepted this many seconds past `exp`, to absorb clock skew (docs/xet-protocol.md §1.1). */
const SKEW_SECONDS = 5

/**
 * Short-lived, HMAC-signed CAS access tokens (docs/xet-protocol.md §1.1): `xet1.<payload>.<mac>`,
 * payload = base64url JSON of the grant. Opaque to every client; nothing is stored server-side.
 */
export class CasTokens {
  constructor(private readonly key: Buffer) {}

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(`xet-cas\n${payload}`).digest('base64url')
  }

  issue(grant: CasGrant): string {
    const payload = Buffer.from(JSON.stringify({ r: grant.repoId, s: grant.scope, e: grant.exp, u: grant.user })).toString('base64url')
    return `xet1.${payload}.${this.mac(payload)}`
  }

  /** The grant in a token, or why it is refused (malformed, bad signature, expired). */
  check(token: string, now = Date.now() / 1000): CasGrant | { problem: string } {
    const m = /^xet1\.([A-Za-z0-9_-]{1,4000})\.([A-Za-z0-9_-]{43})$/.exec(token)
    if (!m) return { problem: 'malformed CAS access token' }
    const expected = Buffer.from(this.mac(m[1]!))
    const given = Buffer.from(m[2]!)
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { problem: 'invalid CAS access token' }
    let raw: { r?: unknown; s?: unknown; e?: unknown; u?: unknown }
    try {
      raw = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as typeof raw
    } catch {
      return { problem: 'malformed CAS access token' }
    }
    if (typeof raw.r !== 'string' || (raw.s !== 'read' && raw.s !== 'write') || typeof raw.e !== 'number') {
      return { problem: 'malformed CAS access token' }
    }
    if (raw.e + SKEW_SECONDS < now) return { problem: 'the CAS access token has expired; fetch a new one from the token endpoint' }
    return { repoId: raw.r, scope: raw.s, exp: raw.e, user: typeof raw.u === 'string' ? raw.u : null }
  }
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearer(header: string | undefined): string | null {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  return m ? m[1]! : null
}
