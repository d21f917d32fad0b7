import type { Db } from './open.js'
import { newId, nowIso } from './ids.js'

export interface UserRow {
  id: string
  name: string
  fullname: string
  type: 'user' | 'org'
  is_admin: number
  created_at: string
}

export interface TokenRow {
  id: string
  user_id: string
  name: string
  role: 'read' | 'write'
  created_at: string
  expires_at: string | null
  revoked_at: string | null
}

/** Users and their tokens. Tokens are looked up by hash only. */
export class UsersRepo {
  private readonly byName
  private readonly byId
  private readonly insertUser
  private readonly tokenByHash
  private readonly insertToken
  private readonly touchToken
  private readonly countTokens

  constructor(db: Db) {
    this.byName = db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?')
    this.byId = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?')
    this.insertUser = db.prepare(
      'INSERT INTO users (id, name, fullname, type, is_admin, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    this.tokenByHash = db.prepare<[string], TokenRow>(
      'SELECT id, user_id, name, role, created_at, expires_at, revoked_at FROM tokens WHERE hash = ?',
    )
    this.insertToken = db.prepare(
      'INSERT INTO tokens (id, user_id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING',
    )
    this.touchToken = db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?')
    this.countTokens = db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM tokens WHERE user_id = ? AND revoked_at IS NULL',
    )
  }

  findByName(name: string): UserRow | undefined {
    return this.byName.get(name)
  }

  findById(id: string): UserRow | undefined {
    return this.byId.get(id)
  }

  /** Creates the user if missing (case-insensitive name); returns the stored row. */
  ensureUser(name: string, opts: { admin?: boolean; type?: 'user' | 'org' } = {}): UserRow {
    const existing = this.findByName(name)
    if (existing) return existing
    this.insertUser.run(newId(), name, name, opts.type ?? 'user', opts.admin ? 1 : 0, nowIso())
    return this.findByName(name)!
  }

  findTokenByHash(hash: string): TokenRow | undefined {
    return this.tokenByHash.get(hash)
  }

  addToken(userId: string, name: string, role: 'read' | 'write', hash: string): void {
    this.insertToken.run(newId(), userId, name, role, hash, nowIso())
  }

  activeTokenCount(userId: string): number {
    return this.countTokens.get(userId)!.n
  }

  markUsed(tokenId: string): void {
    this.touchToken.run(nowIso(), tokenId)
  }
}
