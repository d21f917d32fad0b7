/**
 * Authentication errors (spec 1.6, 1.10) and log hygiene: bad tokens on writes are 401 with the
 * Hub's exact wording and no X-Error-Code, unknown tokens on public reads are anonymous, missing
 * permissions are 403, and neither tokens nor URL signatures ever reach the log.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { hashToken } from '../../server/auth/tokens.js'
import { commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import {
  assertUnchanged,
  createRepoAs,
  expectHubError,
  fileLine,
  headerLine,
  lfsBatch,
  makeUser,
  putBytes,
  sha256,
  snapshot,
} from './error-helpers.js'

const INVALID = 'Invalid credentials in Authorization header'
const UNKNOWN_TOKEN = 'hf_thisTokenWasNeverIssued0123456789'

/** Authorization header values that must all be rejected on writes. */
const BAD_AUTH: [string, string][] = [
  ['unknown hf_ token', `Bearer ${UNKNOWN_TOKEN}`],
  ['token without hf_ prefix', 'Bearer abcdefghijklmnopqrstuvwxyz'],
  ['too short', 'Bearer hf_x'],
  ['Bearer without token', 'Bearer'],
  ['unknown scheme', `Token ${UNKNOWN_TOKEN}`],
  ['Basic with an unknown token as password', `Basic ${Buffer.from(`user:${UNKNOWN_TOKEN}`).toString('base64')}`],
  ['Basic without a colon', `Basic ${Buffer.from('garbage').toString('base64')}`],
  ['two tokens', `Bearer ${UNKNOWN_TOKEN} ${UNKNOWN_TOKEN}`],
]

function writes(s: TestServer, repo: string): [string, (auth: string | null) => Promise<Response>, boolean?][] {
  const h = (auth: string | null, type: string): Record<string, string> => ({
    ...(auth === null ? {} : { authorization: auth }),
    'content-type': type,
  })
  const ndjson = [headerLine(), fileLine('a.txt', 'a')].map((l) => JSON.stringify(l)).join('\n')
  return [
    ['commit', (auth) => fetch(`${s.url}/api/models/${repo}/commit/main`, { method: 'POST', headers: h(auth, 'application/x-ndjson'), body: ndjson })],
    ['preupload', (auth) => fetch(`${s.url}/api/models/${repo}/preupload/main`, { method: 'POST', headers: h(auth, 'application/json'), body: JSON.stringify({ files: [{ path: 'a', size: 1 }] }) })],
    [
      'lfs batch',
      (auth) =>
        fetch(`${s.url}/${repo}.git/info/lfs/objects/batch`, {
          method: 'POST',
          headers: h(auth, 'application/vnd.git-lfs+json'),
          body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid: sha256('x'), size: 1 }] }),
        }),
      true,
    ],
    ['create repo', (auth) => fetch(`${s.url}/api/repos/create`, { method: 'POST', headers: h(auth, 'application/json'), body: JSON.stringify({ name: 'new-one' }) })],
    ['delete repo', (auth) => fetch(`${s.url}/api/repos/delete`, { method: 'DELETE', headers: h(auth, 'application/json'), body: JSON.stringify({ name: repo }) })],
  ]
}

t.test('a bad token on a write is 401 "Invalid credentials…" without X-Error-Code', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'target')
  const priv = await createRepo(s, 'private-target', { private: true })
  const before = await snapshot(s, repo)
  for (const [who, auth] of BAD_AUTH) {
    for (const [what, send, lfs] of writes(s, repo)) {
      await expectHubError(t, await send(auth), { status: 401, code: null, message: INVALID, ...(lfs ? { lfs } : {}) }, `${what}, ${who}`)
    }
  }
  // Same on a private repo and on a missing one: a bad token is reported as such, whatever the repo.
  for (const target of [priv, 'admin/missing']) {
    for (const [what, send] of writes(s, target).slice(0, 3)) {
      await expectHubError(t, await send(`Bearer ${UNKNOWN_TOKEN}`), { status: 401, code: null, message: INVALID }, `${what} on ${target}`)
    }
  }
  // whoami-v2 with an unknown token (what `login` validates).
  const who = await fetch(`${s.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${UNKNOWN_TOKEN}` } })
  await expectHubError(t, who, { status: 401, code: null, message: INVALID }, 'whoami')
  await assertUnchanged(t, s, repo, before)
  t.equal((await fetch(`${s.url}/api/models/${repo}`)).status, 200, 'the repo was not deleted')
  t.equal((await fetch(`${s.url}/api/models/admin/new-one`)).headers.get('x-error-code'), 'RepoNotFound', 'nothing was created')
})

t.test('revoked and expired tokens are rejected like unknown ones', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'target')
  const revoked = makeUser(s, 'admin-revoked', 'write')
  const expired = makeUser(s, 'admin-expired', 'write')
  s.ctx.db.prepare('UPDATE tokens SET revoked_at = ? WHERE hash = ?').run(new Date().toISOString(), hashToken(revoked))
  s.ctx.db.prepare('UPDATE tokens SET expires_at = ? WHERE hash = ?').run(new Date(Date.now() - 60_000).toISOString(), hashToken(expired))
  for (const [who, token] of [
    ['revoked', revoked],
    ['expired', expired],
  ]) {
    const res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('a.txt', 'a')], token)
    await expectHubError(t, res, { status: 401, code: null, message: INVALID }, who)
    const whoami = await fetch(`${s.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } })
    await expectHubError(t, whoami, { status: 401, code: null, message: INVALID }, `${who} whoami`)
  }
})

t.test('no token on a write is 401; a token without the right is 403', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'public-target')
  const before = await snapshot(s, repo)
  for (const [what, send, lfs] of writes(s, repo)) {
    const res = await send(null)
    await expectHubError(t, res, { status: 401, code: null, ...(lfs ? { lfs } : {}) }, `${what}, anonymous`)
  }
  // A stranger's write token on someone else's public repo: authenticated but not allowed.
  const bob = makeUser(s, 'bob', 'write')
  for (const [what, send, lfs] of writes(s, repo).filter(([w]) => w !== 'create repo')) {
    await expectHubError(t, await send(`Bearer ${bob}`), { status: 403, code: null, ...(lfs ? { lfs } : {}) }, `${what}, stranger`)
  }
  // Creating in someone else's namespace.
  const other = await fetch(`${s.url}/api/repos/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x', organization: 'admin' }),
  })
  await expectHubError(t, other, { status: 403, code: null }, 'create in another namespace')
  // The owner's read token cannot write to the owner's own repo.
  const carolRead = makeUser(s, 'carol', 'read')
  const carolWrite = makeUser(s, 'carol', 'write')
  const carolRepo = await createRepoAs(s, carolWrite, 'mine')
  const carolBefore = await snapshot(s, carolRepo)
  for (const [what, send, lfs] of writes(s, carolRepo).filter(([w]) => w !== 'create repo')) {
    await expectHubError(t, await send(`Bearer ${carolRead}`), { status: 403, code: null, ...(lfs ? { lfs } : {}) }, `${what}, read token`)
  }
  await assertUnchanged(t, s, repo, before)
  await assertUnchanged(t, s, carolRepo, carolBefore)
  // Control: carol's write token works, so the 403s above were about the token's role.
  const ok = await commitLines(s, `models/${carolRepo}`, 'main', [headerLine(), fileLine('a.txt', 'a')], carolWrite)
  t.equal(ok.status, 200)
})

t.test('an unknown token on a public read is treated as anonymous', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'readable')
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('config.json', '{"a":1}')])).status, 200)
  const priv = await createRepo(s, 'unreadable', { private: true })
  for (const [, auth] of BAD_AUTH) {
    const headers = { authorization: auth }
    const info = await fetch(`${s.url}/api/models/${repo}`, { headers })
    t.equal(info.status, 200, `info with ${auth.slice(0, 20)}…`)
    await info.arrayBuffer()
    const tree = await fetch(`${s.url}/api/models/${repo}/tree/main`, { headers })
    t.equal(tree.status, 200, 'tree')
    await tree.arrayBuffer()
    const file = await fetch(`${s.url}/${repo}/resolve/main/config.json`, { headers })
    t.equal(file.status, 200, 'resolve')
    t.equal(await file.text(), '{"a":1}')
    const head = await fetch(`${s.url}/${repo}/resolve/main/config.json`, { method: 'HEAD', headers })
    t.equal(head.status, 200, 'HEAD resolve')
    const paths = await fetch(`${s.url}/api/models/${repo}/paths-info/main`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ paths: ['config.json'] }),
    })
    t.equal(paths.status, 200, 'paths-info')
    await paths.arrayBuffer()
    // A private repo stays hidden, exactly as for an anonymous caller.
    const hidden = await fetch(`${s.url}/api/models/${priv}`, { headers })
    t.equal(hidden.headers.get('x-error-code'), 'RepoNotFound', 'private repo with a bad token: RepoNotFound')
    t.not(hidden.status, 403)
    await hidden.arrayBuffer()
  }
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

t.test('tokens and URL signatures never reach the log', async (t) => {
  const s = await startServer(t, { HUBD_MULTIPART_CHUNK_SIZE: String(5 * 1024 * 1024), HUBD_LOG_LEVEL: 'debug' })
  const bob = makeUser(s, 'bob', 'write')
  const repo = await createRepo(s, 'logged')
  const bobRepo = await createRepoAs(s, bob, 'logged')
  const basic = Buffer.from(`bob:${bob}`).toString('base64')

  // Authenticated requests in every shape, good and bad.
  await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('a.txt', 'a')])
  await commitLines(s, `models/${bobRepo}`, 'main', [headerLine(), fileLine('a.txt', 'a')], bob)
  await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('../bad', 'a')]) // an error response
  await fetch(`${s.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${s.token}` } }).then((r) => r.arrayBuffer())
  await fetch(`${s.url}/api/whoami-v2`, { headers: { authorization: `Basic ${basic}` } }).then((r) => r.arrayBuffer())
  await fetch(`${s.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${UNKNOWN_TOKEN}` } }).then((r) => r.arrayBuffer())
  await fetch(`${s.url}/api/models/${repo}?token=${bob}`).then((r) => r.arrayBuffer()) // a token in a query string
  await fetch(`${s.url}/${repo}/resolve/main/a.txt`, { headers: { authorization: `Bearer ${s.token}` } }).then((r) => r.arrayBuffer())

  // A basic signed-URL upload (good and tampered) and a multipart one.
  const small = randomBytes(2000)
  const basicAnswer = await lfsBatch(s, repo, [{ oid: sha256(small), size: small.length }])
  const href = basicAnswer.objects[0]!.actions!.upload!.href
  const verifyHref = basicAnswer.objects[0]!.actions!.verify?.href
  t.equal((await putBytes(href, small)).status, 200)
  const tampered = new URL(href)
  tampered.searchParams.set('sig', 'x' + tampered.searchParams.get('sig')!.slice(1))
  t.equal((await putBytes(tampered, small)).status, 403)
  if (verifyHref) {
    await fetch(verifyHref, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ oid: sha256(small), size: small.length }),
    }).then((r) => r.arrayBuffer())
  }
  const big = randomBytes(5 * 1024 * 1024 + 10)
  const multi = await lfsBatch(s, repo, [{ oid: sha256(big), size: big.length }], { transfers: ['basic', 'multipart'] })
  const upload = multi.objects[0]!.actions!.upload!
  const partUrls = [upload.header!['1']!, upload.header!['2']!]
  const etags: string[] = []
  etags.push((await putBytes(partUrls[0]!, big.subarray(0, 5 * 1024 * 1024))).headers.get('etag') ?? '')
  etags.push((await putBytes(partUrls[1]!, big.subarray(5 * 1024 * 1024))).headers.get('etag') ?? '')
  const done = await fetch(upload.href, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ oid: sha256(big), parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) }),
  })
  t.equal(done.status, 200, 'multipart upload completed')

  const logs = s.logs()
  t.ok(logs.length > 0, 'something was logged')
  t.match(logs, '/api/lfs/upload/', 'the upload request was logged (so the check below means something)')
  t.match(logs, '/api/lfs/multipart/', 'the multipart requests were logged')
  for (const [what, secret] of [
    ['admin token', s.token],
    ['bob token', bob],
    ['unknown token', UNKNOWN_TOKEN],
    ['Basic credentials', basic],
    ['token body without prefix', bob.slice(3)],
  ]) {
    t.notOk(logs.includes(secret!), `the log does not contain the ${what}`)
  }
  const sigs = [href, tampered.toString(), verifyHref, upload.href, ...partUrls]
    .filter((u): u is string => typeof u === 'string')
    .map((u) => new URL(u).searchParams.get('sig'))
    .filter((x): x is string => !!x)
  t.ok(sigs.length >= 5, 'collected the signatures')
  for (const sig of sigs) t.notOk(logs.includes(sig), `the log does not contain sig=${sig.slice(0, 6)}…`)
  t.notMatch(logs, /sig=(?!\[Redacted\])[A-Za-z0-9_-]{8}/, 'no sig= value in any form')
})
