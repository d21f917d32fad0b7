/**
 * Tokens never reach the log (issue 5): at the most verbose level, whatever way a credential
 * travels (Bearer, git's Basic, a query string, a malformed header, a signed LFS URL, the one-time
 * git hook token) and whatever the answer (200, 4xx, 500), no secret appears in the server's log.
 * The one exception is on purpose: a token the server generates for the admin at first start is
 * printed once to stdout, in its banner, and never again (main.ts); the CLI prints the tokens it
 * creates to its own stdout only.
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { UrlSigner } from '../../server/auth/signed-url.js'
import { projectRoot } from '../../server/project-root.js'
import { gitClient, scratchDir, tokenUrl } from '../helpers/git.js'
import { freePort } from '../helpers/process.js'
import { commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import { b64, fileLine, headerLine, lfsBatch, putBytes, sha256, uploadLfs } from '../helpers/error-helpers.js'

const UNKNOWN_TOKEN = 'hf_thisTokenWasNeverIssued0123456789'
/** A one-time git hook token (24 random bytes in hex), not part of a longer hex run (oids, shas). */
const HOOK_TOKEN = /(?<![0-9a-f])[0-9a-f]{48}(?![0-9a-f])/

async function adminJson<T>(s: { url: string; token: string }, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${s.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${s.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${text}`)
  return JSON.parse(text) as T
}

/** fetch and drain, returning the status. */
async function hit(url: string | URL, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, init)
  await res.arrayBuffer()
  return res.status
}

const sigOf = (u: string) => new URL(u).searchParams.get('sig')

/** Asserts none of `secrets` (nor a token's body without its `hf_` prefix) occurs in `text`. */
function assertNoSecrets(t: Test, text: string, secrets: [string, string][], where: string): void {
  for (const [what, secret] of secrets) {
    t.notOk(text.includes(secret), `${where}: no ${what}`)
    if (secret.startsWith('hf_')) t.notOk(text.includes(secret.slice(3)), `${where}: no ${what} without its prefix`)
  }
  t.notMatch(text, /sig=(?!\[Redacted\])[^&"\s]/, `${where}: no sig= value in any form`)
  t.notMatch(text, /"authorization":"(?!\[Redacted\])/i, `${where}: no Authorization header value`)
  t.notMatch(text, HOOK_TOKEN, `${where}: no git hook token`)
}

t.test('at trace level, no token, signature or hook token reaches the log', async (t) => {
  const s = await startServer(t, { HUBD_LOG_LEVEL: 'trace', HUBD_MULTIPART_CHUNK_SIZE: String(5 * 1024 * 1024) })
  await adminJson(s, 'POST', '/api/admin/users', { name: 'bob' })
  const bob = (await adminJson<{ token: string }>(s, 'POST', '/api/admin/tokens', { user: 'bob', role: 'write' })).token
  const bobRead = (await adminJson<{ token: string }>(s, 'POST', '/api/admin/tokens', { user: 'bob', role: 'read' })).token
  const revoked = await adminJson<{ id: string; token: string }>(s, 'POST', '/api/admin/tokens', { user: 'bob', role: 'write' })
  await adminJson(s, 'DELETE', `/api/admin/tokens/${revoked.id}`)
  await adminJson(s, 'GET', '/api/admin/tokens?user=bob')
  const repo = await createRepo(s, 'logged')
  const bobRepo = (await (
    await fetch(`${s.url}/api/repos/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'logged' }),
    })
  ).json()) as { name: string }
  const basic = b64(`bob:${bob}`)
  const secrets: [string, string][] = [
    ['admin token', s.token],
    ['bob write token', bob],
    ['bob read token', bobRead],
    ['revoked token', revoked.token],
    ['unknown token', UNKNOWN_TOKEN],
    ['Basic credentials', basic],
  ]

  // Headers in every shape, good and bad, on reads and writes.
  for (const auth of [
    `Bearer ${s.token}`,
    `Bearer ${bob}`,
    `bearer ${bobRead}`,
    `Basic ${basic}`,
    `Bearer ${revoked.token}`,
    `Bearer ${UNKNOWN_TOKEN}`,
    `Bearer ${bob} extra`,
    `Token ${bob}`,
    bob,
    `Basic ${b64(bob)}`,
  ]) {
    await hit(`${s.url}/api/whoami-v2`, { headers: { authorization: auth } })
    await hit(`${s.url}/api/models/${repo}`, { headers: { authorization: auth } })
    await hit(`${s.url}/${repo}/resolve/main/missing.txt`, { headers: { authorization: auth } })
  }
  t.equal((await commitLines(s, `models/${bobRepo.name}`, 'main', [headerLine(), fileLine('a.txt', 'a')], bob)).status, 200, 'bob commits')
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('../bad', 'a')])).status, 422, 'an error answer')
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('a.txt', 'a')], bob)).status, 403, 'a refusal')
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('a.txt', 'a')], UNKNOWN_TOKEN)).status, 401, 'a bad token')
  // Tokens in query strings (never a credential here, but users paste them).
  for (const q of [`token=${bob}`, `access_token=${bob}`, `sig=${bob}`]) await hit(`${s.url}/api/models/${repo}?${q}`)
  // A URL the router itself rejects (malformed percent-encoding), with a signature in it.
  await hit(`${s.url}/api/models/%zz/x?sig=${bob}`, { headers: { authorization: `Bearer ${bob}` } })

  // Signed LFS URLs: basic upload (good, tampered), verify, multipart, download (good, tampered, expired).
  const small = randomBytes(2000)
  const batch = await lfsBatch(s, repo, [{ oid: sha256(small), size: small.length }])
  const href = batch.objects[0]!.actions!.upload!.href
  const verifyHref = batch.objects[0]!.actions!.verify?.href
  const tampered = new URL(href)
  tampered.searchParams.set('sig', (sigOf(href)![0] === 'x' ? 'y' : 'x') + sigOf(href)!.slice(1))
  t.equal((await putBytes(tampered, small)).status, 403, 'tampered upload refused')
  t.equal((await putBytes(href, small)).status, 200, 'upload')
  if (verifyHref) {
    await hit(verifyHref, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ oid: sha256(small), size: small.length }),
    })
  }
  const big = randomBytes(5 * 1024 * 1024 + 10)
  const multi = await lfsBatch(s, repo, [{ oid: sha256(big), size: big.length }], { transfers: ['basic', 'multipart'] })
  const upload = multi.objects[0]!.actions!.upload!
  const partUrls = [upload.header!['1']!, upload.header!['2']!]
  const etags = [
    (await putBytes(partUrls[0]!, big.subarray(0, 5 * 1024 * 1024))).headers.get('etag') ?? '',
    (await putBytes(partUrls[1]!, big.subarray(5 * 1024 * 1024))).headers.get('etag') ?? '',
  ]
  const done = await hit(upload.href, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ oid: sha256(big), parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) }),
  })
  t.equal(done, 200, 'multipart upload completed')
  const lfsOid = await uploadLfs(s, repo, randomBytes(3000))
  t.equal(
    (await commitLines(s, `models/${repo}`, 'main', [headerLine(), { key: 'lfsFile', value: { path: 'w.bin', algo: 'sha256', oid: lfsOid, size: 3000 } }])).status,
    200,
  )
  const dl = await fetch(`${s.url}/${repo}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'download', objects: [{ oid: lfsOid, size: 3000 }] }),
  })
  const downloadHref = ((await dl.json()) as { objects: { actions: { download: { href: string } } }[] }).objects[0]!.actions.download.href
  t.equal(await hit(downloadHref), 200, 'download')
  t.equal(await hit(downloadHref, { method: 'HEAD' }), 200, 'download HEAD')
  const badDownload = new URL(downloadHref)
  badDownload.searchParams.set('sig', (sigOf(downloadHref)![0] === 'y' ? 'x' : 'y') + sigOf(downloadHref)!.slice(1))
  t.equal(await hit(badDownload), 403, 'tampered download refused')
  const key = s.ctx.db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?').get('url-signing-key')!.value
  const expired = new URL(downloadHref)
  for (const [k, v] of new URLSearchParams(new UrlSigner(Buffer.from(key, 'hex')).sign(['download', expired.searchParams.get('repo')!, lfsOid, 3000], -60))) {
    expired.searchParams.set(k, v)
  }
  t.equal(await hit(expired), 403, 'expired download refused')

  // A 500: an unexpected failure while a token and a signature are on the request.
  const repos = s.ctx.repos as unknown as { get: (...args: unknown[]) => unknown }
  const original = repos.get
  repos.get = () => {
    throw new Error('boom (injected by the test)')
  }
  t.equal(await hit(`${s.url}/${repo}/resolve/main/a.txt?sig=${bob}`, { headers: { authorization: `Bearer ${bob}` } }), 500, 'a 500')
  repos.get = original

  // git over HTTP with Basic credentials from the URL, clone and push (the push runs the hook).
  const { git } = await gitClient(t)
  const work = scratchDir(t)
  await git(['clone', tokenUrl(s, bobRepo.name, bob), path.join(work, 'c')])
  fs.writeFileSync(path.join(work, 'c', 'pushed.txt'), 'pushed\n')
  await git(['add', '.'], { cwd: path.join(work, 'c') })
  await git(['commit', '-m', 'push'], { cwd: path.join(work, 'c') })
  await git(['push', 'origin', 'main'], { cwd: path.join(work, 'c') })
  t.equal(await (await fetch(`${s.url}/${bobRepo.name}/resolve/main/pushed.txt`)).text(), 'pushed\n', 'the push landed')
  const denied = await git(['push', tokenUrl(s, repo, bobRead), 'main'], { cwd: path.join(work, 'c'), allowFail: true })
  t.not(denied.code, 0, 'a refused push')

  const logs = s.logs()
  t.ok(logs.length > 0, 'something was logged')
  t.match(logs, '/api/lfs/upload/', 'the upload requests were logged (so the checks mean something)')
  t.match(logs, '/api/lfs/multipart/', 'the multipart requests were logged')
  t.match(logs, '/api/lfs/download/', 'the download requests were logged')
  t.match(logs, 'sig=[Redacted]', 'signed URLs are logged redacted')
  t.match(logs, 'boom (injected by the test)', 'the 500 was logged')
  t.match(logs, 'info/refs', 'the git requests were logged')
  const sigs = [href, tampered.toString(), verifyHref, upload.href, ...partUrls, downloadHref, badDownload.toString(), expired.toString()]
    .filter((u): u is string => typeof u === 'string')
    .map(sigOf)
    .filter((x): x is string => !!x)
  t.ok(sigs.length >= 8, 'collected the signatures')
  assertNoSecrets(t, logs, [...secrets, ...sigs.map((x): [string, string] => [`sig ${x.slice(0, 6)}…`, x]), ['URL signing key', key]], 'server log')
})

interface Proc {
  out: () => string
  stop: () => Promise<void>
}

/** Runs dist/server/main.js (built by `npm run build`) and waits until `ready` answers 200. */
async function runHubd(t: Test, env: Record<string, string>, ready: (url: string, out: string) => Promise<boolean>): Promise<Proc & { url: string }> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [path.join(projectRoot(), 'dist/server/main.js')], {
    env: { PATH: process.env.PATH, HUBD_PORT: String(port), HUBD_HOST: '127.0.0.1', HUBD_PUBLIC_URL: url, HUBD_FSYNC: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')))
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  t.teardown(stop)
  const deadline = Date.now() + 20_000
  while (!(await ready(url, output).catch(() => false))) {
    if (child.exitCode !== null) throw new Error(`hubd exited early:\n${output}`)
    if (Date.now() > deadline) throw new Error(`hubd did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url, out: () => output, stop }
}

function cli(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(projectRoot(), 'dist/server/cli.js'), ...args],
      { env: { PATH: process.env.PATH, HUBD_DATA_DIR: dataDir } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

const BANNER = /^hubd: generated a write token for the admin user "admin" \(shown only this once\):\n\n {4}(hf_[A-Za-z0-9]{34})\n$/m

t.test('the process: a generated admin token is printed once, in its banner, and logged nowhere', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-redaction-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const env = { HUBD_DATA_DIR: dataDir, HUBD_LOG_LEVEL: 'trace' }
  let token = ''
  const first = await runHubd(t, env, async (url, out) => {
    const m = BANNER.exec(out)
    if (!m) return false
    token = m[1]!
    return (await fetch(`${url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } })).ok
  })
  const s = { url: first.url, token }
  t.match(token, /^hf_[A-Za-z0-9]{34}$/, 'the banner shows a token of the Hub’s shape')

  // Use it in every way, and a CLI-made token too.
  await hit(`${s.url}/api/whoami-v2`, { headers: { authorization: `Basic ${b64(`admin:${token}`)}` } })
  await hit(`${s.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token} junk` } })
  await hit(`${s.url}/api/models?token=${token}`)
  const repo = await adminJson<{ name: string }>(s, 'POST', '/api/repos/create', { name: 'p' })
  const data = randomBytes(1000)
  const batch = await fetch(`${s.url}/${repo.name}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', objects: [{ oid: sha256(data), size: data.length }] }),
  })
  const href = ((await batch.json()) as { objects: { actions: { upload: { href: string } } }[] }).objects[0]!.actions.upload.href
  t.equal((await putBytes(href, data)).status, 200, 'signed upload')
  await adminJson(s, 'POST', '/api/admin/users', { name: 'carol' })
  const made = await cli(dataDir, ['token', 'create', '--user', 'carol', '--role', 'write'])
  t.equal(made.code, 0, 'the CLI creates a token beside the running server')
  t.match(made.stdout, /^hf_[A-Za-z0-9]{34}\n$/, 'the CLI prints only the token')
  t.equal(made.stderr, '', 'and nothing else')
  const cliToken = made.stdout.trim()
  t.equal(await hit(`${s.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${cliToken}` } }), 200, 'the CLI token works')
  const listed = await cli(dataDir, ['token', 'list'])
  t.notOk(listed.stdout.includes(cliToken) || listed.stdout.includes(token), '`token list` never shows a secret')
  await first.stop()

  const out = first.out()
  t.equal(out.split(token).length - 1, 1, 'the admin token occurs exactly once in the output')
  const bannerAt = out.search(BANNER)
  t.ok(bannerAt >= 0 && out.indexOf(token) > bannerAt, 'and that once is the banner')
  const logLines = out.split('\n').filter((l) => l.startsWith('{'))
  t.ok(logLines.length > 10, 'the process logged JSON lines')
  assertNoSecrets(t, logLines.join('\n'), [['admin token', token], ['CLI token', cliToken], ['upload sig', sigOf(href)!]], 'process log')
  t.notOk(out.includes(cliToken), 'the CLI token is nowhere in the server output')

  // A restart prints no token (only its hash is stored) and the printed one still works.
  const second = await runHubd(t, env, async (url) => (await fetch(`${url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } })).ok)
  await hit(`${second.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${cliToken}` } })
  await second.stop()
  t.notMatch(second.out(), /generated a write token/, 'no banner on a restart')
  t.notOk(second.out().includes(token) || second.out().includes(cliToken), 'no token in the second run’s output')
  const db = fs.readFileSync(path.join(dataDir, 'hubd.sqlite'))
  t.notOk(db.includes(token) || db.includes(cliToken), 'the database holds no token in clear')
})

t.test('a configured admin token is never printed', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-redaction-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const token = `hf_${randomBytes(20).toString('hex')}`
  const p = await runHubd(t, { HUBD_DATA_DIR: dataDir, HUBD_LOG_LEVEL: 'trace', HUBD_ADMIN_TOKEN: token }, async (url) =>
    (await fetch(`${url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } })).ok,
  )
  await hit(`${p.url}/api/models`, { headers: { authorization: `Bearer ${token}` } })
  await p.stop()
  t.notMatch(p.out(), /generated a write token/, 'no banner')
  t.notOk(p.out().includes(token), 'the token is nowhere in the output')
  t.notOk(p.out().includes(token.slice(3)), 'not even without its prefix')
})
