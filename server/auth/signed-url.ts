import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * HMAC signatures for the self-authenticating LFS URLs (docs/hub-api.md §5.10): each binds an operation to
 * the fields that scope it (repo, oid, size, upload id, part) and an expiry.
 */
export class UrlSigner {
  constructor(private readonly key: Buffer) {}

  private mac(fields: readonly (string | number)[], exp: number): string {
    return createHmac('sha256', this.key).update([...fields, exp].join('\n')).digest('base64url')
  }

  /** `exp=…&sig=…` for the given fields, valid for `ttlSeconds`. */
  sign(fields: readonly (string | number)[], ttlSeconds: number): string {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds
    return `exp=${exp}&sig=${this.mac(fields, exp)}`
  }

  /** Why the signature is unacceptable, or null if it is good and unexpired. */
  problem(fields: readonly (string | number)[], exp: unknown, sig: unknown): string | null {
    if (typeof exp !== 'string' || !/^\d{1,12}$/.test(exp) || typeof sig !== 'string') return 'missing or malformed signature'
    const expected = Buffer.from(this.mac(fields, Number(exp)))
    const given = Buffer.from(sig)
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid signature'
    if (Number(exp) < Date.now() / 1000) return 'this URL has expired'
    return null
  }
}
