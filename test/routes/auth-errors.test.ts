/**
 * Bad credentials and bad names (issue 5, docs/hub-api.md §1.6 and §1.10): a malformed, unknown, revoked or
 * expired token is a 401 "Invalid credentials in Authorization header" (no X-Error-Code) on every
 * surface, public reads included, never a 500 and never access; tampered or replayed signed LFS
 * URLs are 403 in the LFS dialect and neither store nor serve a byte; account names that collide
 * with routes or other accounts are refused by the admin API with nothing created; creating a repo
 * in a namespace one may not write to is refused.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import t, { type Test } from 'tap'
import { UrlSigner } from '../../server/auth/signed-url.js'
import { commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import {
  assertUnchanged,
  b64,
  expectHeadError,
  expectHubError,
  fileLine,
  headerLine,
  lfsBatch,
  putBytes,
  sha256,
  snapshot,
  storedBlobs,
  tempFiles,
  uploadLfs,
} from '../helpers/error-helpers.js'

const INVALID = 'Invalid credentials in Authorization header'
const UNKNOWN_TOKEN = 'hf_thisTokenWasNeverIssued0123456789'

/** Every way an Authorization header can be wrong. */
function badHeaders(admin: string): [string, string][] {
  return [
    ['Bearer without a token', 'Bearer'],
    ['scheme only (Basic)', 'Basic'],
    ['Bearer with two words', 'Bearer a b'],
    ['two tokens', `Bearer ${UNKNOWN_TOKEN} ${UNKNOWN_TOKEN}`],
    ['unknown hf_ token', `Bearer ${UNKNOWN_TOKEN}`],
    ['hf_x (too short)', 'Bearer hf_x'],
    ['abc (no hf_ prefix)', 'Bearer abc'],
    ['300 characters', `Bearer ${'a'.repeat(300)}`],
    ['hf_ and 297 characters', `Bearer hf_${'a'.repeat(297)}`],
    ['a dot in the token', 'Bearer hf_abcdefgh.ijklmnop'],
    ['quoted token', `Bearer "${admin}"`],
    ['the admin token plus a character', `Bearer ${admin}x`],
    ['the admin token minus a character', `Bearer ${admin.slice(0, -1)}`],
    ['the admin token as the scheme', admin],
    ['Basic that is not base64', 'Basic %%%not-base64%%%'],
    ['Basic without a colon', `Basic ${b64('garbage')}`],
    ['Basic with an empty password', `Basic ${b64('admin:')}`],
    ['Basic with an unknown token', `Basic ${b64(`admin:${UNKNOWN_TOKEN}`)}`],
    ['Basic with the admin token as user name', `Basic ${b64(`${admin}:x`)}`],
    ['unknown scheme', `Token ${admin}`],
    ['Digest', 'Digest username="admin", realm="hubd", nonce="x", response="y"'],
    ['a very long header (12 KB)', `Bearer hf_${'x'.repeat(12_000)}`],
  ]
}

interface Surface {
  what: string
  send: (auth: string) => Promise<Response>
  kind?: 'head' | 'lfs' | 'git'
}

/** Reads and writes of every kind, on a public repo unless said otherwise. */
function surfaces(s: TestServer, repo: string, priv: string): Surface[] {
  const h = (auth: string, extra: Record<string, string> = {}) => ({ authorization: auth, ...extra })
  const json = (auth: string) => h(auth, { 'content-type': 'application/json' })
  return [
    { what: 'repo info', send: (a) => fetch(`${s.url}/api/models/${repo}`, { headers: h(a) }) },
    { what: 'tree', send: (a) => fetch(`${s.url}/api/models/${repo}/tree/main?recursive=1`, { headers: h(a) }) },
    { what: 'commits', send: (a) => fetch(`${s.url}/api/models/${repo}/commits/main`, { headers: h(a) }) },
    { what: 'listing', send: (a) => fetch(`${s.url}/api/models?search=pub`, { headers: h(a) }) },
    { what: 'resolve GET', send: (a) => fetch(`${s.url}/${repo}/resolve/main/config.json`, { headers: h(a) }) },
    { what: 'resolve HEAD', send: (a) => fetch(`${s.url}/${repo}/resolve/main/config.json`, { method: 'HEAD', headers: h(a) }), kind: 'head' },
    {
      what: 'paths-info',
      send: (a) => fetch(`${s.url}/api/models/${repo}/paths-info/main`, { method: 'POST', headers: json(a), body: JSON.stringify({ paths: ['config.json'] }) }),
    },
    { what: 'private repo info', send: (a) => fetch(`${s.url}/api/models/${priv}`, { headers: h(a) }) },
    { what: 'missing repo info', send: (a) => fetch(`${s.url}/api/models/admin/does-not-exist`, { headers: h(a) }) },
    { what: 'whoami-v2', send: (a) => fetch(`${s.url}/api/whoami-v2`, { headers: h(a) }) },
    {
      what: 'commit',
      send: (a) =>
        fetch(`${s.url}/api/models/${repo}/commit/main`, {
          method: 'POST',
          headers: h(a, { 'content-type': 'application/x-ndjson' }),
          body: [headerLine(), fileLine('pwned.txt', 'x')].map((l) => JSON.stringify(l)).join('\n'),
        }),
    },
    {
      what: 'preupload',
      send: (a) => fetch(`${s.url}/api/models/${repo}/preupload/main`, { method: 'POST', headers: json(a), body: JSON.stringify({ files: [{ path: 'a', size: 1 }] }) }),
    },
    {
      what: 'LFS batch (download, a read)',
      kind: 'lfs',
      send: (a) =>
        fetch(`${s.url}/${repo}.git/info/lfs/objects/batch`, {
          method: 'POST',
          headers: h(a, { 'content-type': 'application/vnd.git-lfs+json' }),
          body: JSON.stringify({ operation: 'download', transfers: ['basic'], objects: [{ oid: sha256('x'), size: 1 }] }),
        }),
    },
    {
      what: 'LFS batch (upload)',
      kind: 'lfs',
      send: (a) =>
        fetch(`${s.url}/${repo}.git/info/lfs/objects/batch`, {
          method: 'POST',
          headers: h(a, { 'content-type': 'application/vnd.git-lfs+json' }),
          body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid: sha256('x'), size: 1 }] }),
        }),
    },
    { what: 'create repo', send: (a) => fetch(`${s.url}/api/repos/create`, { method: 'POST', headers: json(a), body: JSON.stringify({ name: 'new-one' }) }) },
    { what: 'delete repo', send: (a) => fetch(`${s.url}/api/repos/delete`, { method: 'DELETE', headers: json(a), body: JSON.stringify({ name: repo }) }) },
    { what: 'admin API', send: (a) => fetch(`${s.url}/api/admin/users`, { headers: h(a) }) },
    { what: 'git info/refs', kind: 'git', send: (a) => fetch(`${s.url}/${repo}.git/info/refs?service=git-upload-pack`, { headers: h(a) }) },
  ]
}

/** Asserts the 401 for a bad token in the surface's dialect. */
async function expectInvalid(t: Test, res: Response, surface: Surface, label: string): Promise<void> {
  if (surface.kind === 'head') return expectHeadError(t, res, { status: 401, code: null, message: INVALID }, label)
  if (surface.kind === 'git') {
    t.equal(res.status, 401, `${label}: status 401`)
    t.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/, `${label}: the Basic challenge git needs`)
    t.equal(res.headers.get('x-error-message'), INVALID, `${label}: X-Error-Message`)
    t.match(await res.text(), INVALID, `${label}: the body says why`)
    return
  }
  await expectHubError(t, res, { status: 401, code: null, message: INVALID, ...(surface.kind === 'lfs' ? { lfs: true } : {}) }, label)
}

/** Creates a public repo with a file, a private one; returns their ids. */
async function fixture(s: TestServer): Promise<{ repo: string; priv: string }> {
  const repo = await createRepo(s, 'public-target')
  const res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('config.json', '{"a":1}')])
  if (res.status !== 200) throw new Error(`setup commit: ${res.status}`)
  const priv = await createRepo(s, 'private-target', { private: true })
  return { repo, priv }
}

/** One raw HTTP/1.1 GET with an Authorization header given as bytes (fetch refuses non-Latin-1). */
function rawGet(base: string, path: string, authorization: Buffer): Promise<{ status: number; head: string; body: string }> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname)
    const chunks: Buffer[] = []
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('error', reject)
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const head = text.slice(0, split)
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: text.slice(split + 4) })
    })
    sock.write(
      Buffer.concat([
        Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\nAuthorization: `),
        authorization,
        Buffer.from('\r\n\r\n'),
      ]),
    )
  })
}

async function adminCall(s: TestServer, method: string, path: string, body?: unknown, token = s.token): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

async function adminOk<T>(s: TestServer, method: string, path: string, body?: unknown): Promise<T> {
  const res = await adminCall(s, method, path, body)
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return JSON.parse(text) as T
}

/** A user with a token of `role`, through the admin API. */
async function userWithToken(s: TestServer, name: string, role: 'read' | 'write', extra: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
  const users = await adminOk<{ name: string }[]>(s, 'GET', '/api/admin/users')
  if (!users.some((u) => u.name === name)) await adminOk(s, 'POST', '/api/admin/users', { name })
  return adminOk<{ id: string; token: string }>(s, 'POST', '/api/admin/tokens', { user: name, role, ...extra })
}

t.test('a malformed or unknown Authorization header is 401 on every surface, public reads included', async (t) => {
  const s = await startServer(t)
  const { repo, priv } = await fixture(s)
  const before = await snapshot(s, repo)
  for (const [who, auth] of badHeaders(s.token)) {
    for (const surface of surfaces(s, repo, priv)) {
      await expectInvalid(t, await surface.send(auth), surface, `${surface.what}, ${who}`)
    }
  }
  await assertUnchanged(t, s, repo, before)
  t.equal((await fetch(`${s.url}/api/models/${repo}`)).status, 200, 'the repo was not deleted')
  const created = await fetch(`${s.url}/api/models/admin/new-one`, { headers: { authorization: `Bearer ${s.token}` } })
  t.equal(created.headers.get('x-error-code'), 'RepoNotFound', 'nothing was created')
  t.match(s.logs(), '"statusCode":401', 'answers are logged with their status (so the next check means something)')
  t.notMatch(s.logs(), /"statusCode":5\d\d/, 'no 5xx was logged')
})

t.test('non-ASCII and oversized headers: refused, never a 500', async (t) => {
  const s = await startServer(t)
  const { repo } = await fixture(s)
  for (const [what, bytes] of [
    ['UTF-8 in a Bearer token', Buffer.from('Bearer hf_ünïcödé_tökén_0123456789', 'utf8')],
    ['an emoji token', Buffer.from('Bearer hf_🔑🔑🔑🔑🔑🔑🔑🔑', 'utf8')],
    ['Latin-1 bytes', Buffer.from('Bearer hf_\xe9\xe8\xe0abcdefghij', 'latin1')],
    ['UTF-8 in the scheme', Buffer.from(`Bëarer ${s.token}`, 'utf8')],
    ['UTF-8 inside Basic credentials', Buffer.from(`Basic ${b64(Buffer.from(`ädmin:${UNKNOWN_TOKEN}ü`, 'utf8'))}`)],
  ] as const) {
    for (const path of [`/api/models/${repo}`, `/${repo}/resolve/main/config.json`, '/api/whoami-v2']) {
      const res = await rawGet(s.url, path, bytes)
      t.equal(res.status, 401, `${what} on ${path}: 401`)
      t.match(res.head, new RegExp(`\\r\\nx-error-message: ${INVALID}\\r\\n`, 'i'), `${what} on ${path}: Invalid credentials`)
      t.notMatch(res.body, '{"a":1}', 'no content served')
    }
  }
  // Past Node's header limit (16 KiB) the HTTP layer answers itself: still a 4xx, never access.
  const huge = await rawGet(s.url, `/${repo}/resolve/main/config.json`, Buffer.from(`Bearer hf_${'y'.repeat(20_000)}`))
  t.ok(huge.status === 431 || huge.status === 401 || huge.status === 400, `a 20 KB header: ${huge.status}`)
  t.notMatch(huge.body, '{"a":1}')
  // The server is still fine.
  t.equal((await fetch(`${s.url}/api/models/${repo}`)).status, 200, 'the server still answers')
})

t.test('good credentials in the shapes clients send are accepted (controls)', async (t) => {
  const s = await startServer(t)
  const { repo } = await fixture(s)
  for (const [what, auth] of [
    ['Bearer', `Bearer ${s.token}`],
    ['lowercase scheme', `bearer ${s.token}`],
    ['uppercase scheme', `BEARER ${s.token}`],
    ['Basic with the token as password (git)', `Basic ${b64(`admin:${s.token}`)}`],
    ['Basic with any user name', `Basic ${b64(`whoever:${s.token}`)}`],
  ]) {
    const res = await fetch(`${s.url}/api/whoami-v2`, { headers: { authorization: auth! } })
    t.equal(res.status, 200, `${what}: whoami 200`)
    t.equal(((await res.json()) as { name: string }).name, 'admin')
    const file = await fetch(`${s.url}/${repo}/resolve/main/config.json`, { headers: { authorization: auth! } })
    t.equal(await file.text(), '{"a":1}', `${what}: resolve`)
  }
})

t.test('revoked, expired and orphaned tokens are rejected like unknown ones', async (t) => {
  const s = await startServer(t)
  const { repo } = await fixture(s)
  const revoked = await userWithToken(s, 'rita', 'write')
  const expiring = await userWithToken(s, 'ed', 'write', { expiresAt: new Date(Date.now() + 1500).toISOString() })
  const orphan = await userWithToken(s, 'olga', 'read')
  const checks = (token: string) => [
    () => fetch(`${s.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } }),
    () => fetch(`${s.url}/api/models/${repo}`, { headers: { authorization: `Bearer ${token}` } }),
    () => fetch(`${s.url}/${repo}/resolve/main/config.json`, { headers: { authorization: `Basic ${b64(`x:${token}`)}` } }),
  ]
  for (const { token } of [revoked, expiring, orphan]) {
    for (const send of checks(token)) t.equal((await send()).status, 200, 'works before')
  }
  t.equal((await adminCall(s, 'DELETE', `/api/admin/tokens/${revoked.id}`)).status, 200, 'revoked through the admin API')
  t.equal((await adminCall(s, 'DELETE', '/api/admin/users/olga')).status, 200, "olga's account deleted")
  await new Promise((r) => setTimeout(r, Math.max(0, 1600)))
  for (const [who, token] of [
    ['revoked', revoked.token],
    ['expired', expiring.token],
    ['deleted user', orphan.token],
  ]) {
    for (const send of checks(token!)) await expectHubError(t, await send(), { status: 401, code: null, message: INVALID }, who!)
  }
})

t.test('tampered, expired or replayed signed LFS download URLs are 403 and serve nothing', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'lfs-src')
  const other = await createRepo(s, 'lfs-other', { private: true })
  const a = randomBytes(3000)
  const b = randomBytes(3000)
  const oidA = await uploadLfs(s, repo, a)
  const oidB = await uploadLfs(s, other, b)
  const lfsLine = (path: string, oid: string, size: number) => ({ key: 'lfsFile', value: { path, algo: 'sha256', oid, size } })
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), lfsLine('a.bin', oidA, a.length)])).status, 200)
  t.equal((await commitLines(s, `models/${other}`, 'main', [headerLine(), lfsLine('b.bin', oidB, b.length)])).status, 200)

  const downloadHref = async (r: string, oid: string, size: number) => {
    const res = await fetch(`${s.url}/${r}.git/info/lfs/objects/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation: 'download', transfers: ['basic'], objects: [{ oid, size }] }),
    })
    const body = (await res.json()) as { objects: { actions?: { download?: { href: string } } }[] }
    return body.objects[0]!.actions!.download!.href
  }
  const hrefA = await downloadHref(repo, oidA, a.length)
  const hrefB = await downloadHref(other, oidB, b.length)
  const genuine = await fetch(hrefA)
  t.equal(genuine.status, 200, 'control: the genuine URL serves the object')
  t.same(Buffer.from(await genuine.arrayBuffer()), a)

  const urlA = new URL(hrefA)
  const urlB = new URL(hrefB)
  const set = (name: string, value: string | null, base = hrefA) => {
    const u = new URL(base)
    if (value === null) u.searchParams.delete(name)
    else u.searchParams.set(name, value)
    return u.toString()
  }
  const sig = urlA.searchParams.get('sig')!
  const key = s.ctx.db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?').get('url-signing-key')!.value
  const signer = new UrlSigner(Buffer.from(key, 'hex'))
  const expired = new URL(hrefA)
  for (const [k, v] of new URLSearchParams(signer.sign(['download', urlA.searchParams.get('repo')!, oidA, a.length], -60))) expired.searchParams.set(k, v)
  const uploadAnswer = await lfsBatch(s, repo, [{ oid: sha256(randomBytes(10)), size: 10 }])
  const uploadQuery = new URL(uploadAnswer.objects[0]!.actions!.upload!.href).search

  const cases: [string, string][] = [
    ['a flipped signature character', set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1))],
    ['a truncated signature', set('sig', sig.slice(0, -1))],
    ['an empty signature', set('sig', '')],
    ['no signature', set('sig', null)],
    ['no expiry', set('exp', null)],
    ['a later expiry', set('exp', String(Number(urlA.searchParams.get('exp')) + 3600))],
    ['a non-numeric expiry', set('exp', 'never')],
    ['a genuine but expired signature', expired.toString()],
    ['another size', set('size', String(a.length - 1))],
    ["another repo's id", set('repo', urlB.searchParams.get('repo')!)],
    ["A's query on B's oid (B is private)", `${s.url}/api/lfs/download/${oidB}${urlA.search}`],
    ["B's query on A's oid", `${s.url}/api/lfs/download/${oidA}${urlB.search}`],
    ['an upload signature on the download path', `${s.url}/api/lfs/download/${oidA}${uploadQuery}`],
  ]
  for (const [what, url] of cases) {
    const res = await fetch(url)
    const body = await expectHubError(t, res, { status: 403, code: null, lfs: true }, what)
    t.notOk(JSON.stringify(body).includes(a.subarray(0, 8).toString('hex')), `${what}: no content`)
    const head = await fetch(url, { method: 'HEAD' })
    t.equal(head.status, 403, `${what}: HEAD 403 too`)
    t.equal(head.headers.get('content-length') === String(a.length), false, `${what}: HEAD reveals no size`)
  }
  // A download URL is no upload URL: PUT on the upload path with it stores nothing.
  const before = storedBlobs(s)
  const c = randomBytes(500)
  const res = await putBytes(`${s.url}/api/lfs/upload/${sha256(c)}${urlA.search}`, c)
  await expectHubError(t, res, { status: 403, code: null, lfs: true }, 'a download signature on the upload path')
  t.same(storedBlobs(s), before, 'nothing stored')
})

t.test('tampered or replayed signed LFS upload URLs are 403 and store nothing', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'up-a')
  const bob = await userWithToken(s, 'bob', 'write')
  const bobRepo = await fetch(`${s.url}/api/repos/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bob.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'up-b' }),
  }).then(async (r) => ((await r.json()) as { id: string; name: string }))
  const c = randomBytes(2000)
  const d = randomBytes(2000)
  const answer = await lfsBatch(s, repo, [
    { oid: sha256(c), size: c.length },
    { oid: sha256(d), size: d.length },
  ])
  const href = answer.objects[0]!.actions!.upload!.href
  const bobAnswer = await lfsBatch(s, bobRepo.name, [{ oid: sha256(d), size: d.length }], { token: bob.token })
  const bobHref = bobAnswer.objects[0]!.actions!.upload!.href
  const u = new URL(href)
  const set = (name: string, value: string | null) => {
    const x = new URL(href)
    if (value === null) x.searchParams.delete(name)
    else x.searchParams.set(name, value)
    return x.toString()
  }
  const sig = u.searchParams.get('sig')!
  const before = storedBlobs(s)
  const cases: [string, string, Buffer][] = [
    ['a flipped signature character', set('sig', (sig[5] === 'A' ? 'B' : 'A') + sig.slice(0, 5) + sig.slice(6)), c],
    ['a changed expiry', set('exp', String(Number(u.searchParams.get('exp')) - 1)), c],
    ['no signature', set('sig', null), c],
    ["bob's repo id with admin's signature", set('repo', new URL(bobHref).searchParams.get('repo')!), c],
    ["bob's URL replayed for admin's object", `${s.url}/api/lfs/upload/${sha256(c)}${new URL(bobHref).search.replace(/size=\d+/, `size=${c.length}`)}`, c],
    ["c's URL replayed for d", `${s.url}/api/lfs/upload/${sha256(d)}${u.search}`, d],
  ]
  for (const [what, url, body] of cases) {
    const res = await putBytes(url, body)
    await expectHubError(t, res, { status: 403, code: null, lfs: true }, what)
    t.same(storedBlobs(s), before, `${what}: nothing stored`)
    t.same(tempFiles(s), [], `${what}: no temp file left`)
  }
  t.equal((await putBytes(href, c)).status, 200, 'control: the genuine URL is accepted')
})

t.test('account names: reserved, colliding (any case) or malformed names are refused, nothing created', async (t) => {
  const s = await startServer(t)
  const alice = await adminCall(s, 'POST', '/api/admin/users', { name: 'alice' })
  t.equal(alice.status, 200, 'alice created')
  t.match(await alice.json(), { name: 'alice', type: 'user' })
  const acme = await adminCall(s, 'POST', '/api/admin/orgs', { name: 'acme' })
  t.equal(acme.status, 200, 'acme created')
  await acme.arrayBuffer()
  const listBefore = await adminOk<unknown[]>(s, 'GET', '/api/admin/users')
  const orgsBefore = await adminOk<unknown[]>(s, 'GET', '/api/admin/orgs')

  const reserved = ['api', 'datasets', 'spaces', 'models', 'new', 'settings', 'organizations', 'docs', 'login', 'join', 'API', 'Models', 'DATASETS']
  const taken = ['alice', 'Alice', 'ALICE', 'aLiCe', 'acme', 'ACME', 'Acme', 'admin', 'Admin']
  const malformed: unknown[] = [
    '-x', '.x', '_x', 'x.', 'a..b', 'a--b', 'a'.repeat(43), 'a'.repeat(100), 'a/b', '../x', '', ' ', 'a b', ' alice', 'é', 'ünï',
    'a\nb', 'a\u0000b', 'x.git', '%61', 'a@b', 'a:b',
  ]
  for (const segment of ['users', 'orgs']) {
    for (const name of reserved) {
      await expectHubError(t, await adminCall(s, 'POST', `/api/admin/${segment}`, { name }), { status: 400, code: null, message: /reserved/i }, `${segment} "${name}"`)
    }
    for (const name of taken) {
      await expectHubError(t, await adminCall(s, 'POST', `/api/admin/${segment}`, { name }), { status: 409, code: null, message: /taken|exists/i }, `${segment} "${name}"`)
    }
    for (const name of malformed) {
      await expectHubError(t, await adminCall(s, 'POST', `/api/admin/${segment}`, { name }), { status: 400, code: null }, `${segment} ${JSON.stringify(name)}`)
    }
    // @NOTE: Fastify's defaults coerce scalars and one-element arrays (`{name: 5}` is the name "5")
    // and drop unknown keys, as on every route; only shapes that cannot be a name are tested here.
    for (const body of [{}, { name: null }, { name: { x: 1 } }, ['ok-name']]) {
      await expectHubError(t, await adminCall(s, 'POST', `/api/admin/${segment}`, body), { status: 400, code: null }, `${segment} body ${JSON.stringify(body)}`)
    }
    const notJson = await fetch(`${s.url}/api/admin/${segment}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: '{"name":',
    })
    await expectHubError(t, notJson, { status: 400, code: null }, `${segment}: malformed JSON`)
  }
  t.same(await adminOk(s, 'GET', '/api/admin/users'), listBefore, 'no user was created')
  t.same(await adminOk(s, 'GET', '/api/admin/orgs'), orgsBefore, 'no org was created')

  // Only the site admin may create accounts.
  const bob = await userWithToken(s, 'bob', 'write')
  await expectHubError(t, await adminCall(s, 'POST', '/api/admin/users', { name: 'eve' }, bob.token), { status: 403, code: null }, 'a user creating a user')
  const anon = await fetch(`${s.url}/api/admin/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'eve' }) })
  await expectHubError(t, anon, { status: 401, code: null }, 'anonymous creating a user')
  await expectHubError(t, await adminCall(s, 'POST', '/api/admin/users', { name: 'eve' }, UNKNOWN_TOKEN), { status: 401, code: null, message: INVALID }, 'a bad token creating a user')
  const names = (await adminOk<{ name: string }[]>(s, 'GET', '/api/admin/users')).map((u) => u.name)
  t.notOk(names.includes('eve'), 'eve was never created')

  // Names at the limits are fine (controls).
  for (const name of ['a', 'A1', 'x'.repeat(42), 'a.b-c_d', 'Zed']) {
    const res = await adminCall(s, 'POST', '/api/admin/users', { name })
    t.equal(res.status, 200, `"${name}" is a valid name`)
    await res.arrayBuffer()
  }
})

t.test('creating a repo where one may not write: 403 (or 404 for a namespace that does not exist), nothing created', async (t) => {
  const s = await startServer(t)
  await adminOk(s, 'POST', '/api/admin/users', { name: 'alice' })
  await adminOk(s, 'POST', '/api/admin/orgs', { name: 'acme' })
  const bob = await userWithToken(s, 'bob', 'write')
  const bobRead = await adminOk<{ token: string }>(s, 'POST', '/api/admin/tokens', { user: 'bob', role: 'read' })
  const create = (token: string | null, body: Record<string, unknown>) =>
    fetch(`${s.url}/api/repos/create`, {
      method: 'POST',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  const exists = async (id: string) => (await fetch(`${s.url}/api/models/${id}`, { headers: { authorization: `Bearer ${s.token}` } })).status === 200

  const ghost = await create(bob.token, { name: 'x', organization: 'ghost' })
  t.ok(ghost.status === 403 || ghost.status === 404, `a namespace that does not exist: ${ghost.status}`)
  await expectHubError(t, ghost, { status: ghost.status, code: null, message: /ghost/ }, 'the message names the namespace')
  t.notOk(await exists('ghost/x'), 'ghost/x not created')
  const viaName = await create(bob.token, { name: 'ghost/y' })
  t.ok(viaName.status === 403 || viaName.status === 404, `"ghost/y" in name: ${viaName.status}`)
  await viaName.arrayBuffer()
  t.notOk(await exists('ghost/y'), 'ghost/y not created')

  for (const [what, token, body, status] of [
    ['an org bob is not a member of', bob.token, { name: 'x', organization: 'acme' }, 403],
    ["another user's namespace", bob.token, { name: 'x', organization: 'alice' }, 403],
    ["the admin's namespace", bob.token, { name: 'x', organization: 'admin' }, 403],
    ['another namespace given in name', bob.token, { name: 'alice/x' }, 403],
    ['a read token in his own namespace', bobRead.token, { name: 'x' }, 403],
    ['anonymous', null, { name: 'x', organization: 'bob' }, 401],
    ['a bad token', UNKNOWN_TOKEN, { name: 'x' }, 401],
  ] as const) {
    await expectHubError(t, await create(token, body), { status, code: null, ...(token === UNKNOWN_TOKEN ? { message: INVALID } : {}) }, what)
  }
  await adminOk(s, 'PUT', '/api/admin/orgs/acme/members/bob', { role: 'read' })
  await expectHubError(t, await create(bob.token, { name: 'x', organization: 'acme' }), { status: 403, code: null }, 'a read member of acme')
  for (const id of ['acme/x', 'alice/x', 'admin/x', 'bob/x']) t.notOk(await exists(id), `${id} not created`)

  // Controls: bob's own namespace, and acme once he may write there.
  t.equal((await create(bob.token, { name: 'x' })).status, 200, 'bob creates in his own namespace')
  await adminOk(s, 'PUT', '/api/admin/orgs/acme/members/bob', { role: 'write' })
  t.equal((await create(bob.token, { name: 'x', organization: 'acme' })).status, 200, 'a write member creates in acme')
})

t.test('repos/delete with a three-segment name deletes nothing', async (t) => {
  const s = await startServer(t)
  const keep = await createRepo(s, 'keep')
  const res = await fetch(`${s.url}/api/repos/delete`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `${keep}/extra` }),
  })
  await expectHubError(t, res, { status: 404, code: 'RepoNotFound' }, 'delete admin/keep/extra')
  t.equal((await fetch(`${s.url}/api/models/${keep}`)).status, 200, 'admin/keep still exists')
  // Deleting a missing repo is RepoNotFound (py's missing_ok relies on it).
  const missing = await fetch(`${s.url}/api/repos/delete`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'nope' }),
  })
  await expectHubError(t, missing, { status: 404, code: 'RepoNotFound' }, 'delete a missing repo')
})
