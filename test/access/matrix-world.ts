/**
 * The access matrix's world: accounts, tokens and fixture repos made through the admin and Hub
 * APIs, and the cell checker that counts what it checked. Not a test file.
 */
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { ADMIN_TOKEN, authed, type TestServer } from '../helpers/server.js'
import { b64, uploadLfs } from '../helpers/error-helpers.js'
import { addMember, createOrg, createRepoWith, createToken, createUser, revokeToken } from '../helpers/accounts.js'
import { describe, type ActorSpec, type Dialect, type Expected, type RepoSpec } from './rules.js'

export const INVALID = 'Invalid credentials in Authorization header'

export interface Fixture extends RepoSpec {
  id: string
  kind: string
  type: 'model' | 'dataset'
  /** `/api/models/ns/name` or `/api/datasets/ns/name`. */
  api: string
  /** `/ns/name` or `/datasets/ns/name` (resolve, raw, LFS, git). */
  files: string
  ownOid: string
  own: Buffer
  sharedOid: string
}

export interface World {
  s: TestServer
  actors: ActorSpec[]
  /** All fixtures: the four model repos and a private org dataset (read families only). */
  repos: Fixture[]
  /** The model repos, used by every family. */
  models: Fixture[]
  shared: Buffer
  expiredAt: number
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  })
  await Promise.all(workers)
}

export function headers(actor: ActorSpec, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(actor.token === null ? {} : { authorization: `Bearer ${actor.token}` }), ...extra }
}

export const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n')
export const header = (summary: string) => ({ key: 'header', value: { summary, description: '' } })
export const file = (p: string, content: string | Buffer) => ({ key: 'file', value: { path: p, content: b64(content), encoding: 'base64' } })

export async function asAdmin(s: TestServer, p: string, init: RequestInit = {}): Promise<Response> {
  return authed(s, p, { redirect: 'manual', ...init })
}

export async function adminJson<T>(s: TestServer, p: string, init: RequestInit = {}): Promise<T> {
  const res = await asAdmin(s, p, init)
  if (res.status !== 200) throw new Error(`${init.method ?? 'GET'} ${p}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

export const mainHead = async (s: TestServer, id: string) => (await adminJson<{ sha: string }>(s, `/api/models/${id}/revision/main`)).sha

export async function refNames(s: TestServer, id: string): Promise<{ branches: string[]; tags: string[] }> {
  const refs = await adminJson<{ branches: { name: string }[]; tags: { name: string }[] }>(s, `/api/models/${id}/refs`)
  return { branches: refs.branches.map((b) => b.name), tags: refs.tags.map((b) => b.name) }
}

/** Counts and checks one cell. */
export class Matrix {
  n = 0

  async check(t: Test, label: string, res: Response, exp: Expected, dialect: Dialect = 'api', head = false): Promise<boolean> {
    this.n++
    const code = res.headers.get('x-error-code')
    const msg = res.headers.get('x-error-message')
    const body = res.status >= 400 ? await res.text() : ''
    const detail = `${label}: expected ${describe(exp)}, got ${res.status}${code ? ` ${code}` : ''}${msg ? ` (${msg})` : ''}`
    let ok = t.equal(res.status, exp.status, detail)
    if (exp.code === 'RepoNotFound') ok = t.equal(code, 'RepoNotFound', `${label}: X-Error-Code RepoNotFound`) && ok
    // @NOTE: git's 401 challenge may keep the RepoNotFound code (it stands in for the 404: the Hub does the same).
    else if (res.status >= 400 && !(dialect === 'git' && res.status === 401)) ok = t.not(code, 'RepoNotFound', `${label}: not RepoNotFound`) && ok
    if (res.status === 401 && exp.status === 401 && dialect === 'git') {
      ok = t.match(res.headers.get('www-authenticate') ?? '', /^Basic /, `${label}: the Basic challenge`) && ok
    }
    if (res.status === 401 && exp.invalidCredentials && dialect === 'api') {
      ok = t.equal(msg, INVALID, `${label}: "${INVALID}"`) && ok
    }
    if (res.status >= 400 && !body && !head) ok = t.fail(`${label}: an error body`) && ok
    return ok
  }

  /** A cell checked by a predicate (git CLI, listings). */
  checkBool(t: Test, label: string, actual: boolean, want: boolean, detail = ''): boolean {
    this.n++
    return t.equal(actual, want, `${label}: ${want ? 'allowed' : 'refused'}${detail ? ` (${detail})` : ''}`)
  }
}

export async function setup(t: Test, s: TestServer): Promise<World> {
  const url = s.url
  for (const u of ['owner', 'stranger', 'mreader', 'mwriter', 'madmin']) await createUser(url, u)
  await createOrg(url, 'team')
  await addMember(url, 'team', 'mreader', 'read')
  await addMember(url, 'team', 'mwriter', 'write')
  await addMember(url, 'team', 'madmin', 'admin')
  const expiresAt = new Date(Date.now() + 2500).toISOString()
  const expiring = await createToken(url, 'owner', 'write', { name: 'expiring', expiresAt })
  const tok = async (user: string, role: 'read' | 'write') => (await createToken(url, user, role, { name: `${user}-${role}` })).token
  const ownerW = await tok('owner', 'write')
  const ownerR = await tok('owner', 'read')
  const strangerW = await tok('stranger', 'write')
  const mreaderW = await tok('mreader', 'write')
  const mwriterW = await tok('mwriter', 'write')
  const madminW = await tok('madmin', 'write')
  const revoked = await createToken(url, 'owner', 'write', { name: 'to-revoke' })
  const who = (token: string) => fetch(`${url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } })
  t.equal((await who(revoked.token)).status, 200, 'the token to revoke works before it is revoked')
  t.equal((await who(expiring.token)).status, 200, 'the expiring token works before it expires')
  await revokeToken(url, revoked.id)

  const base = { bad: false, siteAdmin: false, orgs: {} }
  const actors: ActorSpec[] = [
    { ...base, label: 'anonymous', token: null, user: null, tokenRole: null },
    { ...base, label: 'read-token', token: ownerR, user: 'owner', tokenRole: 'read' },
    { ...base, label: 'stranger', token: strangerW, user: 'stranger', tokenRole: 'write' },
    { ...base, label: 'owner', token: ownerW, user: 'owner', tokenRole: 'write' },
    { ...base, label: 'mreader', token: mreaderW, user: 'mreader', tokenRole: 'write', orgs: { team: 'read' } },
    { ...base, label: 'mwriter', token: mwriterW, user: 'mwriter', tokenRole: 'write', orgs: { team: 'write' } },
    { ...base, label: 'madmin', token: madminW, user: 'madmin', tokenRole: 'write', orgs: { team: 'admin' } },
    { ...base, label: 'revoked', token: revoked.token, user: null, tokenRole: null, bad: true },
    { ...base, label: 'expired', token: expiring.token, user: null, tokenRole: null, bad: true },
    // Wrong shape (no hf_ prefix): refused like the others.
    { ...base, label: 'malformed', token: 'not-a-hub-token', user: null, tokenRole: null, bad: true },
    { ...base, label: 'site-admin', token: ADMIN_TOKEN, user: 'admin', tokenRole: 'write', siteAdmin: true },
  ]

  const shared = randomBytes(1500)
  const repos: Fixture[] = []
  const specs = [
    { namespace: 'owner', creator: ownerW, priv: false, type: 'model' },
    { namespace: 'owner', creator: ownerW, priv: true, type: 'model' },
    { namespace: 'team', creator: madminW, priv: false, type: 'model' },
    { namespace: 'team', creator: madminW, priv: true, type: 'model' },
    { namespace: 'team', creator: madminW, priv: true, type: 'dataset' },
  ] as const
  for (const { namespace, creator, priv, type } of specs) {
    const name = `${priv ? 'priv' : 'pub'}-${type}`
    const id = await createRepoWith(url, creator, namespace, name, priv, type)
    const files = type === 'model' ? `/${id}` : `/datasets/${id}`
    const api = `/api/${type}s/${id}`
    const own = randomBytes(1000 + repos.length)
    const ownOid = await uploadLfs(s, files.slice(1), own, creator)
    const sharedOid = await uploadLfs(s, files.slice(1), shared, creator)
    const res = await fetch(`${url}${api}/commit/main`, {
      method: 'POST',
      headers: { authorization: `Bearer ${creator}`, 'content-type': 'application/x-ndjson' },
      body: ndjson([
        header('fixtures'),
        file('README.md', `# ${id}\n`),
        { key: 'lfsFile', value: { path: 'own.bin', algo: 'sha256', oid: ownOid, size: own.length } },
        { key: 'lfsFile', value: { path: 'shared.bin', algo: 'sha256', oid: sharedOid, size: shared.length } },
      ]),
    })
    if (res.status !== 200) throw new Error(`fixture commit ${id}: ${res.status} ${await res.text()}`)
    const jsonPost = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await adminJson(s, `${api}/branch/dev`, { method: 'POST' })
    await adminJson(s, `${api}/tag/main`, jsonPost({ tag: 'v1' }))
    // Something for each actor to delete.
    if (type === 'model') {
      for (const a of actors) {
        await adminJson(s, `${api}/branch/del-${a.label}`, { method: 'POST' })
        await adminJson(s, `${api}/tag/main`, jsonPost({ tag: `del-${a.label}` }))
      }
    }
    const kind = `${namespace}/${priv ? 'private' : 'public'}${type === 'model' ? '' : ` ${type}`}`
    repos.push({ namespace, name, private: priv, id, kind, type, api, files, own, ownOid, sharedOid })
  }
  return { s, actors, repos, models: repos.filter((r) => r.type === 'model'), shared, expiredAt: Date.parse(expiresAt) }
}
