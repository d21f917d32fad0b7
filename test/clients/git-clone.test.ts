/**
 * Real `git` and `git-lfs` cloning and fetching from a listening server: repos made through the
 * HTTP API come out with their LFS files smudged to real content, every URL form works, private
 * repos ask for credentials, and fetches transfer only what is new.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { hashToken } from '../../server/auth/tokens.js'
import { FLUSH_PKT, pktLine } from '../../server/protocol/pkt-line.js'
import { gitClient, needsGitLfs, scratchDir, sha256, tokenUrl, uploadLfs } from '../helpers/git.js'
import { commitLines, createRepo, startServer } from '../helpers/server.js'

const header = (summary: string) => ({ key: 'header', value: { summary, description: '' } })
const file = (p: string, content: string) => ({ key: 'file', value: { path: p, content: Buffer.from(content).toString('base64'), encoding: 'base64' } })
const lfsFile = (p: string, oid: string, size: number) => ({ key: 'lfsFile', value: { path: p, algo: 'sha256', oid, size } })

async function commit(server: Awaited<ReturnType<typeof startServer>>, repoPath: string, lines: unknown[]): Promise<string> {
  const res = await commitLines(server, repoPath, 'main', lines)
  if (res.status !== 200) throw new Error(`commit: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { commitOid: string }).commitOid
}

t.test('clone a repo made through the API: LFS content is real after checkout', { skip: needsGitLfs() }, async (t) => {
  const server = await startServer(t)
  const { git } = await gitClient(t, { lfs: true })
  await createRepo(server, 'clone-me')
  const big = randomBytes(3 * 1024 * 1024)
  const oid = await uploadLfs(server, 'admin/clone-me', big)
  await commit(server, 'models/admin/clone-me', [
    header('add files'),
    file('config.json', '{"a": 1}\n'),
    file('sub/notes.txt', 'nested\n'),
    lfsFile('weights.bin', oid, big.length),
  ])
  await createRepo(server, 'data-me', { type: 'dataset' })
  await commit(server, 'datasets/admin/data-me', [header('rows'), file('rows.csv', 'a,b\n1,2\n')])

  const dir = scratchDir(t)
  // Anonymous (the repo is public), protocol v2 (the default), plain URL.
  await git(['clone', '-q', `${server.url}/admin/clone-me`, 'plain'], { cwd: dir })
  const plain = path.join(dir, 'plain')
  t.equal(fs.readFileSync(path.join(plain, 'config.json'), 'utf8'), '{"a": 1}\n')
  t.equal(fs.readFileSync(path.join(plain, 'sub/notes.txt'), 'utf8'), 'nested\n')
  t.equal(sha256(fs.readFileSync(path.join(plain, 'weights.bin'))), oid, 'the LFS file is smudged to its real bytes')
  t.match((await git(['lfs', 'ls-files', '-l'], { cwd: plain })).stdout, oid, 'git-lfs tracks it')
  t.match(server.logs(), `/api/lfs/download/${oid}`, 'through the batch API download action')
  t.match(fs.readFileSync(path.join(plain, '.gitattributes'), 'utf8'), 'filter=lfs')

  // `.git` suffix and protocol v0; a dataset URL; a shallow clone.
  await git(['-c', 'protocol.version=0', 'clone', '-q', `${server.url}/admin/clone-me.git`, 'v0'], { cwd: dir })
  t.equal(sha256(fs.readFileSync(path.join(dir, 'v0/weights.bin'))), oid, 'v0 clone with .git')
  await git(['clone', '-q', `${server.url}/datasets/admin/data-me`, 'data'], { cwd: dir })
  t.equal(fs.readFileSync(path.join(dir, 'data/rows.csv'), 'utf8'), 'a,b\n1,2\n', 'dataset clone')
  await git(['clone', '-q', '--depth', '1', `${server.url}/admin/clone-me`, 'shallow'], { cwd: dir })
  t.equal((await git(['rev-list', '--count', 'HEAD'], { cwd: path.join(dir, 'shallow') })).stdout.trim(), '1', 'shallow clone')
  await git(['clone', '-q', '--filter=blob:none', `${server.url}/admin/clone-me`, 'partial'], { cwd: dir })
  t.equal(fs.readFileSync(path.join(dir, 'partial/sub/notes.txt'), 'utf8'), 'nested\n', 'partial clone')

  // A gzipped v2 request body, as git sends long ones.
  const lsRefs = Buffer.concat([pktLine('command=ls-refs\n'), Buffer.from('0001'), pktLine('symrefs\n'), FLUSH_PKT])
  const v2 = await fetch(`${server.url}/admin/clone-me/git-upload-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip', 'git-protocol': 'version=2' },
    body: gzipSync(lsRefs),
  })
  t.equal(v2.headers.get('content-type'), 'application/x-git-upload-pack-result')
  t.match(await v2.text(), 'HEAD symref-target:refs/heads/main', 'v2 ls-refs through a gzipped body')

  // The batch API hands git-lfs short-lived download URLs that serve Ranges.
  const batch = await fetch(`${server.url}/admin/clone-me.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'download', objects: [{ oid, size: big.length }, { oid: 'f'.repeat(64), size: 3 }] }),
  })
  t.equal(batch.status, 200)
  const answer = (await batch.json()) as { transfer: string; objects: { actions?: { download: { href: string; expires_in: number } }; error?: { code: number } }[] }
  t.equal(answer.transfer, 'basic')
  t.ok(answer.objects[0]!.actions!.download.expires_in <= 3600, 'short-lived')
  t.equal(answer.objects[1]!.error?.code, 404, 'unknown object: per-object 404')
  const href = answer.objects[0]!.actions!.download.href
  const part = await fetch(href, { headers: { range: 'bytes=10-19' } })
  t.equal(part.status, 206)
  t.same(Buffer.from(await part.arrayBuffer()), big.subarray(10, 20))
  const forged = await fetch(href.replace(/size=\d+/, 'size=1'))
  t.equal(forged.status, 403, 'the signature binds the size')
  t.equal((await fetch(`${server.url}/admin/clone-me.git/info/lfs/locks/verify`, { method: 'POST' })).status, 404, 'locks: not offered')
})

t.test('private repos: anonymous gets a 401 challenge, strangers 404, owners clone', { skip: needsGitLfs() }, async (t) => {
  const server = await startServer(t)
  const { git } = await gitClient(t, { lfs: true })
  await createRepo(server, 'secret', { private: true })
  const big = randomBytes(200_000)
  const oid = await uploadLfs(server, 'admin/secret', big)
  await commit(server, 'models/admin/secret', [header('weights'), lfsFile('w.bin', oid, big.length)])
  const stranger = 'hf_strangerToken0123456789abcdef'
  const bob = server.ctx.users.ensureUser('bob')
  server.ctx.users.addToken(bob.id, 'bob', 'write', hashToken(stranger))

  for (const url of ['/admin/secret/info/refs?service=git-upload-pack', '/admin/missing/info/refs?service=git-upload-pack']) {
    const anon = await fetch(`${server.url}${url}`)
    t.equal(anon.status, 401, `${url}: anonymous → 401`)
    t.equal(anon.headers.get('www-authenticate'), 'Basic realm="hubd"', 'so git asks for credentials')
    const other = await fetch(`${server.url}${url}`, { headers: { authorization: `Basic ${Buffer.from(`x:${stranger}`).toString('base64')}` } })
    t.equal(other.status, 404, `${url}: a stranger's token → 404`)
  }
  const lfsAnon = await fetch(`${server.url}/admin/secret.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'download', objects: [{ oid, size: big.length }] }),
  })
  t.equal(lfsAnon.status, 401, 'LFS batch: anonymous → 401')
  t.equal(lfsAnon.headers.get('www-authenticate'), 'Basic realm="hubd"')

  const dir = scratchDir(t)
  const anon = await git(['clone', '-q', `${server.url}/admin/secret`, 'anon'], { cwd: dir, allowFail: true })
  t.not(anon.code, 0, 'a private clone without credentials fails')
  t.notOk(fs.existsSync(path.join(dir, 'anon/w.bin')))

  // A credential helper answering after the 401, as users set it up (git and git-lfs both use it).
  await git(['config', '--global', 'credential.helper', `!f() { echo username=me; echo password=${server.token}; }; f`])
  await git(['clone', '-q', `${server.url}/admin/secret`, 'helper'], { cwd: dir })
  t.equal(sha256(fs.readFileSync(path.join(dir, 'helper/w.bin'))), oid, 'credential helper: LFS content too')
  // The token in the URL.
  await git(['clone', '-q', tokenUrl(server, 'admin/secret'), 'inurl'], { cwd: dir })
  t.equal(sha256(fs.readFileSync(path.join(dir, 'inurl/w.bin'))), oid, 'token in the URL')
})

t.test('fetch after API commits transfers only the new objects', async (t) => {
  const server = await startServer(t)
  const { git } = await gitClient(t)
  await createRepo(server, 'fetch-me')
  const files = Array.from({ length: 40 }, (_, i) => file(`d${i % 4}/f${i}.txt`, `file ${i}\n`))
  await commit(server, 'models/admin/fetch-me', [header('many files'), ...files])
  const dir = scratchDir(t)
  await git(['clone', '-q', `${server.url}/admin/fetch-me`, 'c'], { cwd: dir })
  const clone = path.join(dir, 'c')
  const before = (await git(['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim()

  await commit(server, 'models/admin/fetch-me', [header('edit one'), file('d1/f1.txt', 'changed\n')])
  const after = await commit(server, 'models/admin/fetch-me', [header('add one'), file('new.txt', 'new\n')])
  // Every fetched object unpacked loose, so counting loose objects counts what was sent.
  await git(['-c', 'fetch.unpackLimit=1000000', 'fetch', '-q', 'origin'], { cwd: clone })
  t.equal((await git(['rev-parse', 'origin/main'], { cwd: clone })).stdout.trim(), after)
  const needed = (await git(['rev-list', '--objects', `${before}..${after}`], { cwd: clone })).stdout.trim().split('\n').length
  const received = Number(/^count: (\d+)$/m.exec((await git(['count-objects', '-v'], { cwd: clone })).stdout)![1])
  t.equal(needed, 7, 'two commits: 2 commits + 3 trees + 2 blobs')
  t.equal(received, needed, 'exactly the new objects were sent')
})
