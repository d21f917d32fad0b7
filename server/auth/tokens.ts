import { createHash, randomBytes } from 'node:crypto'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A new token: `hf_` + 34 random alphanumerics, the Hub's shape (docs/hub-api.md §1.6). */
export function generateToken(): string {
  const bytes = randomBytes(34)
  let out = 'hf_'
  // @NOTE: 256 % 62 bias is negligible at 34 × ~5.95 bits of entropy.
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length]
  return out
}

/** Tokens are high-entropy, so a plain sha256 is a safe stored form. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
