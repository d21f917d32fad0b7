import type { Db } from './open.js'
import { newId, nowIso } from './ids.js'
import { dataVersionOf } from './data-version.js'

export type OrgRole = 'read' | 'write' | 'admin'
export type TokenRole = 'read' | 'write'

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
  role: TokenRole
  created_at: string
  expires_at: string | null
  revoked_at: string | null
}

export interface TokenListing extends TokenRow {
  user: string
  last_used_at: string | null
}

export interface Membership {
  org_id: string
  org: string
  org_fullname: string
  user_id: string
  user: string
  role: OrgRole
}

/** The name is taken (users and orgs share one namespace, compared case-insensitively). */
export class NameTakenError extends Error {
  override name = 'NameTakenError'
}

/**
 * Users, organizations, memberships and tokens. Tokens are looked up by hash only; the secret is
 * never stored. Several processes (servers, the CLI) share the file: nothing here caches.
 */
export class UsersTable {
  private readonly byName
  private readonly byId
  private readonly all
  private readonly insertUser
  private readonly deleteUser_
  private readonly tokenByHash
  private readonly tokenById
  private readonly insertToken
  private readonly touchToken
  private readonly revoke
  private readonly countTokens
  private readonly listTokens_
  private readonly listAllTokens
  private readonly memberships_
  private readonly members_
  private readonly upsertMember
  private readonly deleteMember

  constructor(private readonly db: Db) {
    this.byName = db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?')
    this.byId = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?')
    this.all = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY type, name')
    this.insertUser = db.prepare(
      'INSERT INTO users (id, name, fullname, type, is_admin, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    this.deleteUser_ = db.prepare('DELETE FROM users WHERE id = ?')
    const tokenCols = 'id, user_id, name, role, created_at, expires_at, revoked_at'
    this.tokenByHash = db.prepare<[string], TokenRow>(`SELECT ${tokenCols} FROM tokens WHERE hash = ?`)
    this.tokenById = db.prepare<[string], TokenRow>(`SELECT ${tokenCols} FROM tokens WHERE id = ?`)
    this.insertToken = db.prepare(
      'INSERT INTO tokens (id, user_id, name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING',
    )
    this.touchToken = db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?')
    this.revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
    this.countTokens = db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM tokens WHERE user_id = ? AND revoked_at IS NULL',
    )
    const listing = `SELECT t.${tokenCols.split(', ').join(', t.')}, t.last_used_at, u.name AS user
      FROM tokens t JOIN users u ON u.id = t.user_id`
    this.listTokens_ = db.prepare<[string], TokenListing>(`${listing} WHERE t.user_id = ? ORDER BY t.created_at, t.id`)
    this.listAllTokens = db.prepare<[], TokenListing>(`${listing} ORDER BY u.name, t.created_at, t.id`)
    const membership = `SELECT m.org_id, o.name AS org, o.fullname AS org_fullname, m.user_id, u.name AS user, m.role
      FROM org_members m JOIN users o ON o.id = m.org_id JOIN users u ON u.id = m.user_id`
    this.memberships_ = db.prepare<[string], Membership>(`${membership} WHERE m.user_id = ? ORDER BY o.name`)
    this.members_ = db.prepare<[string], Membership>(`${membership} WHERE m.org_id = ? ORDER BY u.name`)
    this.upsertMember = db.prepare(
      `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`,
    )
    this.deleteMember = db.prepare('DELETE FROM org_members WHERE org_id = ? AND user_id = ?')
  }

  findByName(name: string): UserRow | undefined {
    return this.byName.get(name)
  }

  findById(id: string): UserRow | undefined {
    return this.byId.get(id)
  }

  list(): UserRow[] {
    return this.all.all()
  }

  /** Creates the user if missing (case-insensitive name); returns the stored row. */
  ensureUser(name: string, opts: { admin?: boolean; type?: 'user' | 'org' } = {}): UserRow {
    const existing = this.findByName(name)
    if (existing) return existing
    this.insertUser.run(newId(), name, name, opts.type ?? 'user', opts.admin ? 1 : 0, nowIso())
    return this.findByName(name)!
  }

  /** A new user or org; NameTakenError if any user or org has this name in any case. */
  create(name: string, type: 'user' | 'org', fullname: string): UserRow {
    try {
      this.insertUser.run(newId(), name, fullname, type, 0, nowIso())
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new NameTakenError(name)
      throw err
    }
    return this.findByName(name)!
  }

  /** Deletes a user or org; their tokens and memberships go with it (foreign keys cascade). */
  remove(id: string): void {
    this.deleteUser_.run(id)
  }

  findTokenByHash(hash: string): TokenRow | undefined {
    return this.tokenByHash.get(hash)
  }

  findToken(id: string): TokenRow | undefined {
    return this.tokenById.get(id)
  }

  /** Stores a token's hash; returns its id (the existing one's if this hash is already stored). */
  addToken(userId: string, name: string, role: TokenRole, hash: string, expiresAt: string | null = null): string {
    const id = newId()
    const info = this.insertToken.run(id, userId, name, role, hash, nowIso(), expiresAt)
    return info.changes === 1 ? id : this.findTokenByHash(hash)!.id
  }

  tokens(userId?: string): TokenListing[] {
    return userId === undefined ? this.listAllTokens.all() : this.listTokens_.all(userId)
  }

  /** Revokes a token; false if it was unknown or already revoked. */
  revokeToken(id: string): boolean {
    return this.revoke.run(nowIso(), id).changes === 1
  }

  activeTokenCount(userId: string): number {
    return this.countTokens.get(userId)!.n
  }

  markUsed(tokenId: string): void {
    this.touchToken.run(nowIso(), tokenId)
  }

  /** The orgs a user belongs to, with their role in each. */
  memberships(userId: string): Membership[] {
    return this.memberships_.all(userId)
  }

  members(orgId: string): Membership[] {
    return this.members_.all(orgId)
  }

  setMember(orgId: string, userId: string, role: OrgRole): void {
    this.upsertMember.run(orgId, userId, role, nowIso())
  }

  /** False if the user was not a member. */
  removeMember(orgId: string, userId: string): boolean {
    return this.deleteMember.run(orgId, userId).changes === 1
  }

  /**
   * Changes whenever a change to the database commits, from this connection or any other (the CLI
   * included): an identity cached under it is never stale.
   */
  dataVersion(): string {
    return dataVersionOf(this.db).current()
  }

  /** Runs `fn` in one immediate transaction (a check and the write it guards, atomically). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate()
  }
}
