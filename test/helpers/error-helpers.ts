/**
 * Shared requests and assertions for the route and access tests (Hub-format errors, LFS
 * uploads, NDJSON lines, server state on disk). Not a test file itself (tap only runs `*.test.ts`).
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Test } from 'tap'
import { hashToken } from '../../server/auth/tokens.js'
import { authed, type TestServer } from './server.js'

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

export function b64(text: string | Buffer): string {
  return Buffer.from(text).toString('base64')
}

/** PUT raw bytes (fetch sets Content-Length to their length). */
export function putBytes(url: string | URL, data: Buffer): Promise<Response> {
  return fetch(url, { method: 'PUT', body: new Uint8Array(data) })
}

/** Every file below `dir` (relative paths), or [] if it does not exist. */
export function filesBelow(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)))
  }
  return out.sort()
}

/** Blobs published in the content-addressed store. */
export function storedBlobs(s: TestServer): string[] {
  return filesBelow(path.join(s.dataDir, 'blobs', 'sha256'))
}

/** Files left in the per-process temp folders of the blob store (`blobs/tmp/<writer>/…`). */
export function tempFiles(s: TestServer): string[] {
  return filesBelow(path.join(s.dataDir, 'blobs', 'tmp'))
}

/** Multipart staging files. */
export function stagingFiles(s: TestServer): string[] {
  return filesBelow(path.join(s.dataDir, 'blobs', 'staging'))
}

/** The head of a branch through the public API (`sha` of repo info at that revision). */
export async function branchHead(s: TestServer, repoId: string, branch = 'main', type = 'models'): Promise<string> {
  const res = await authed(s, `/api/${type}/${repoId}/revision/${encodeURIComponent(branch)}`)
  if (res.status !== 200) throw new Error(`revision ${repoId}@${branch}: ${res.status} ${await res.text()}`)
  const sha = ((await res.json()) as { sha: string }).sha
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`bad sha ${sha}`)
  return sha
}

export interface Snapshot {
  head: string
  blobs: string[]
  temp: string[]
}

export async function snapshot(s: TestServer, repoId: string, branch = 'main'): Promise<Snapshot> {
  return { head: await branchHead(s, repoId, branch), blobs: storedBlobs(s), temp: tempFiles(s) }
}

/** Branch head unchanged, no new blob in the store, no temp file left behind. */
export async function assertUnchanged(t: Test, s: TestServer, repoId: string, before: Snapshot, branch = 'main'): Promise<void> {
  t.equal(await branchHead(s, repoId, branch), before.head, 'branch head unchanged')
  t.same(storedBlobs(s), before.blobs, 'no new blob in the store')
  t.same(tempFiles(s), [], 'no temp file left')
}

export interface ExpectedError {
  status: number
  /** The X-Error-Code; `null` asserts the header is absent; undefined skips the check. */
  code?: string | null
  /** Exact X-Error-Message (and JSON `error`), or a pattern they must match. */
  message?: string | RegExp
  /** LFS routes add `message` to the body. */
  lfs?: boolean
}

/**
 * Asserts a Hub-format error (docs/hub-api.md §1.10.1): status, X-Error-Code, a non-empty one-line
 * X-Error-Message, and (non-HEAD) a JSON body whose `error` is that message. Returns the body.
 */
export async function expectHubError(
  t: Test,
  res: Response,
  exp: ExpectedError,
  what = '',
): Promise<Record<string, unknown>> {
  const label = what ? `${what}: ` : ''
  t.equal(res.status, exp.status, `${label}status ${exp.status}`)
  const code = res.headers.get('x-error-code')
  if (exp.code === null) t.equal(code, null, `${label}no X-Error-Code`)
  else if (exp.code !== undefined) t.equal(code, exp.code, `${label}X-Error-Code ${exp.code}`)
  const header = res.headers.get('x-error-message')
  t.ok(header && header.length > 0, `${label}X-Error-Message present`)
  t.match(header ?? '', /^[\x20-\x7e]+$/, `${label}X-Error-Message is one line of printable ASCII`)
  if (typeof exp.message === 'string') t.equal(header, exp.message, `${label}X-Error-Message text`)
  else if (exp.message !== undefined) t.match(header ?? '', exp.message, `${label}X-Error-Message text`)
  const text = await res.text()
  let body: Record<string, unknown> = {}
  if (res.status !== 204 && text !== '') {
    t.match(res.headers.get('content-type') ?? '', /^application\/json/, `${label}JSON content type`)
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {
      t.fail(`${label}body is not JSON: ${text.slice(0, 200)}`)
    }
  } else {
    t.fail(`${label}error body is empty`)
  }
  t.type(body.error, 'string', `${label}JSON body has an "error" string`)
  if (typeof body.error === 'string' && header && /^[\x20-\x7e]*$/.test(body.error)) {
    t.equal(body.error, header, `${label}JSON error equals X-Error-Message`)
  }
  if (typeof exp.message === 'string') t.equal(body.error, exp.message, `${label}JSON error text`)
  else if (exp.message !== undefined) t.match(String(body.error), exp.message, `${label}JSON error text`)
  if (exp.lfs) t.equal(body.message, body.error, `${label}LFS error body also carries "message"`)
  return body
}

/** A HEAD error: same headers, no body. */
export async function expectHeadError(t: Test, res: Response, exp: ExpectedError, what = ''): Promise<void> {
  const label = what ? `${what}: ` : ''
  t.equal(res.status, exp.status, `${label}status ${exp.status}`)
  if (exp.code === null) t.equal(res.headers.get('x-error-code'), null, `${label}no X-Error-Code`)
  else if (exp.code !== undefined) t.equal(res.headers.get('x-error-code'), exp.code, `${label}X-Error-Code ${exp.code}`)
  const header = res.headers.get('x-error-message')
  t.ok(header && header.length > 0, `${label}X-Error-Message present`)
  if (typeof exp.message === 'string') t.equal(header, exp.message, `${label}X-Error-Message text`)
  else if (exp.message !== undefined) t.match(header ?? '', exp.message, `${label}X-Error-Message text`)
  t.equal((await res.arrayBuffer()).byteLength, 0, `${label}HEAD has no body`)
}

/** Creates a non-admin user with a token of the given role (there is no user API yet). */
export function makeUser(s: TestServer, name: string, role: 'read' | 'write' = 'write'): string {
  const user = s.ctx.users.ensureUser(name)
  const token = `hf_${name}${role}token0123456789abcdef`.replace(/[^A-Za-z0-9_]/g, '')
  s.ctx.users.addToken(user.id, `${name}-${role}`, role, hashToken(token))
  return token
}

/** Creates a repo with an explicit token (createRepo in the helpers always uses the admin's). */
export async function createRepoAs(s: TestServer, token: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${s.url}/api/repos/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, ...extra }),
  })
  if (res.status !== 200) throw new Error(`create ${name}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { name: string }).name
}

export interface BatchObjectAnswer {
  oid: string
  size: number
  actions?: { upload?: { href: string; header?: Record<string, string> }; verify?: { href: string } }
  error?: { code: number; message: string }
}

/** POST …/info/lfs/objects/batch (upload), returns the parsed answer; throws unless 200. */
export async function lfsBatch(
  s: TestServer,
  repoId: string,
  objects: { oid: string; size: number }[],
  opts: { token?: string; transfers?: string[]; prefix?: string } = {},
): Promise<{ transfer: string; objects: BatchObjectAnswer[] }> {
  const res = await fetch(`${s.url}/${opts.prefix ?? ''}${repoId}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${opts.token ?? s.token}`,
      'content-type': 'application/vnd.git-lfs+json',
      accept: 'application/vnd.git-lfs+json',
    },
    body: JSON.stringify({ operation: 'upload', transfers: opts.transfers ?? ['basic'], objects, hash_algo: 'sha256', ref: { name: 'main' } }),
  })
  if (res.status !== 200) throw new Error(`batch: ${res.status} ${await res.text()}`)
  return (await res.json()) as { transfer: string; objects: BatchObjectAnswer[] }
}

/** Batch + basic PUT of `data` into `repoId`; returns its oid. */
export async function uploadLfs(s: TestServer, repoId: string, data: Buffer, token?: string): Promise<string> {
  const oid = sha256(data)
  const answer = await lfsBatch(s, repoId, [{ oid, size: data.length }], token ? { token } : {})
  const href = answer.objects[0]?.actions?.upload?.href
  if (href) {
    const put = await putBytes(href, data)
    if (put.status !== 200) throw new Error(`upload: ${put.status} ${await put.text()}`)
  }
  return oid
}

export function headerLine(summary = 'test commit', extra: Record<string, unknown> = {}): unknown {
  return { key: 'header', value: { summary, description: '', ...extra } }
}

export function fileLine(p: string, content: string): unknown {
  return { key: 'file', value: { path: p, content: b64(content), encoding: 'base64' } }
}
