import type { ReposTable, RepoType } from '../../storage/db/repos-table.js'
import { NameTakenError, type OrgRole, type TokenListing, type TokenRole, type UserRow, type UsersTable } from '../../storage/db/users-table.js'
import { errors } from '../errors.js'
import { generateToken, hashToken } from '../auth/tokens.js'
import { RESERVED_NAMESPACES, repoPartProblem } from '../protocol/repo-id.js'

export const ORG_ROLES: readonly OrgRole[] = ['read', 'write', 'admin']
export const TOKEN_ROLES: readonly TokenRole[] = ['read', 'write']
const MAX_NAME = 42

export interface NewToken {
  id: string
  token: string
  name: string
  role: TokenRole
  user: string
  createdAt: string
  expiresAt: string | null
}

export interface TokenInfo {
  id: string
  name: string
  role: TokenRole
  user: string
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  revokedAt: string | null
}

/**
 * Users, organizations, memberships and tokens, for the admin HTTP API and the `hubd` CLI alike.
 * Every operation is a short SQLite transaction, so it is safe beside running servers sharing the
 * data dir (their identity caches follow the database's data version).
 */
export class AdminService {
  constructor(
    private readonly users: UsersTable,
    private readonly repos: ReposTable,
  ) {}

  createAccount(type: 'user' | 'org', name: string, fullname = ''): UserRow {
    const problem = accountNameProblem(name)
    if (problem) throw errors.badRequest(problem)
    try {
      return this.users.create(name, type, fullname)
    } catch (err) {
      if (err instanceof NameTakenError) {
        const taken = this.users.findByName(name)
        throw errors.conflict(`The name "${name}" is already taken${taken ? ` by the ${taken.type} "${taken.name}"` : ''} (names are compared case-insensitively)`)
      }
      throw err
    }
  }

  /** Deletes a user or org that owns no repository; tokens and memberships go with it. */
  deleteAccount(type: 'user' | 'org', name: string): void {
    this.users.transaction(() => {
      const row = this.account(type, name)
      if (row.is_admin === 1) throw errors.forbidden('The admin user cannot be deleted')
      const n = this.repos.countInNamespace(row.name)
      if (n > 0) throw errors.conflict(`"${row.name}" still owns ${n} repositor${n === 1 ? 'y' : 'ies'}: delete or move them first`)
      this.users.remove(row.id)
    })
  }

  accounts(): UserRow[] {
    return this.users.list()
  }

  setMember(org: string, user: string, role: string): { org: string; user: string; role: OrgRole } {
    const r = oneOf(role, ORG_ROLES, 'role')
    return this.users.transaction(() => {
      const o = this.account('org', org)
      const u = this.account('user', user)
      this.users.setMember(o.id, u.id, r)
      return { org: o.name, user: u.name, role: r }
    })
  }

  removeMember(org: string, user: string): void {
    this.users.transaction(() => {
      const o = this.account('org', org)
      const u = this.account('user', user)
      if (!this.users.removeMember(o.id, u.id)) throw errors.notFound(`"${u.name}" is not a member of "${o.name}"`)
    })
  }

  members(org: string): { user: string; role: OrgRole }[] {
    return this.users.members(this.account('org', org).id).map((m) => ({ user: m.user, role: m.role }))
  }

  createToken(input: { user: string; role: string; name?: string | undefined; expiresAt?: string | undefined }): NewToken {
    const role = oneOf(input.role, TOKEN_ROLES, 'role')
    const name = input.name ?? 'token'
    if (name.length < 1 || name.length > 100 || /[\u0000-\u001f]/.test(name)) throw errors.badRequest('name must be 1 to 100 printable characters')
    let expiresAt: string | null = null
    if (input.expiresAt !== undefined) {
      const t = Date.parse(input.expiresAt)
      if (!/^\d{4}-\d{2}-\d{2}/.test(input.expiresAt) || Number.isNaN(t)) throw errors.badRequest(`expiresAt must be an ISO 8601 date, got "${input.expiresAt}"`)
      if (t <= Date.now()) throw errors.badRequest('expiresAt is in the past')
      expiresAt = new Date(t).toISOString()
    }
    const token = generateToken()
    return this.users.transaction(() => {
      const u = this.account('user', input.user)
      const id = this.users.addToken(u.id, name, role, hashToken(token), expiresAt)
      return { id, token, name, role, user: u.name, createdAt: this.users.findToken(id)!.created_at, expiresAt }
    })
  }

  tokens(user?: string): TokenInfo[] {
    const rows = user === undefined ? this.users.tokens() : this.users.tokens(this.account('user', user).id)
    return rows.map(tokenInfo)
  }

  revokeToken(id: string): void {
    if (!/^[0-9a-f]{24}$/.test(id) || !this.users.findToken(id)) throw errors.notFound(`No token with id "${id}"`)
    if (!this.users.revokeToken(id)) throw errors.conflict(`Token "${id}" is already revoked`)
  }

  repoList(): { id: string; type: RepoType; private: boolean; usedStorage: number }[] {
    return this.repos.all().map((r) => ({ id: `${r.namespace}/${r.name}`, type: r.type, private: r.private === 1, usedStorage: r.used_storage }))
  }

  /** The user or org of that name (any case), or a 404 naming what was looked for. */
  private account(type: 'user' | 'org', name: string): UserRow {
    const row = this.users.findByName(name)
    if (!row || row.type !== type) throw errors.notFound(`No ${type === 'org' ? 'organization' : 'user'} named "${name}"`)
    return row
  }
}

/** Why `name` cannot be a user or org name (they share the namespace of repo ids), or null. */
export function accountNameProblem(name: string): string | null {
  if (name.length > MAX_NAME) return `A name must be at most ${MAX_NAME} characters long`
  if (!/^[A-Za-z0-9]/.test(name)) return 'A name must start with a letter or a digit'
  const problem = repoPartProblem(name, 'A name')
  if (problem) return problem
  if (RESERVED_NAMESPACES.has(name.toLowerCase())) return `"${name}" is reserved (it would collide with a route of the server)`
  return null
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw errors.badRequest(`${what} must be one of ${allowed.join(', ')}; got "${value}"`)
  return value as T
}

function tokenInfo(t: TokenListing): TokenInfo {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    user: t.user,
    createdAt: t.created_at,
    expiresAt: t.expires_at,
    lastUsedAt: t.last_used_at,
    revokedAt: t.revoked_at,
  }
}
