/**
 * Real `git push` (with git-lfs) into a listening server: pushed files are served by the HTTP API
 * at once, branches and tags land, and the checks before refs move hold (LFS objects present,
 * the default branch kept, write access).
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { hashToken } from '../../server/auth/tokens.js'
import { gitClient, needsGitLfs, scratchDir, sha256, tokenUrl } from '../helpers/git.js'
import { authed, createRepo, startServer, type TestServer } from '../helpers/server.js'

async function resolveText(server: TestServer, repoPath: string, rev: string, file: string): Promise<{ status: number; body: Buffer }> {
  const res = await authed(server, `/${repoPath}/resolve/${encodeURIComponent(rev)}/${file}`)
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

t.test('push a small file and an LFS file; the API serves both at once', { skip: needsGitLfs() }, async (t) => {
  const server = await startServer(t)
  const { git } = await gitClient(t, { lfs: true })
  await createRepo(server, 'pushed')
  const before = (await (await authed(server, '/api/models/admin/pushed')).json()) as { lastModified: string }
  const dir = scratchDir(t)
  await git(['clone', '-q', tokenUrl(server, 'admin/pushed'), 'w'], { cwd: dir })
  const w = path.join(dir, 'w')
  const big = randomBytes(1536 * 1024)
  fs.writeFileSync(path.join(w, 'small.txt'), 'hello from git\n')
  fs.writeFileSync(path.join(w, 'model.bin'), big)
  await git(['add', 'small.txt', 'model.bin'], { cwd: w })
  await git(['commit', '-q', '-m', 'add a small and an LFS file'], { cwd: w })
  const pushed = await git(['push', 'origin', 'main'], { cwd: w })
  t.notMatch(pushed.stderr, /lock/i, `no locking warning: ${pushed.stderr}`)
  t.match(server.logs(), '/api/lfs/upload/', 'git-lfs uploaded through the basic transfer')
  t.match(server.logs(), '/api/lfs/verify/', 'and called verify')
  const head = (await git(['rev-parse', 'HEAD'], { cwd: w })).stdout.trim()

  const small = await resolveText(server, 'admin/pushed', 'main', 'small.txt')
  t.equal(small.body.toString(), 'hello from git\n', 'the small file through resolve')
  const res = await authed(server, '/admin/pushed/resolve/main/model.bin')
  t.equal(res.headers.get('x-repo-commit'), head, 'resolve sees the pushed commit')
  t.equal(res.headers.get('x-linked-etag'), `"${sha256(big)}"`, 'served as an LFS file')
  t.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(big), 'the LFS file through resolve')
  const info = (await (await authed(server, '/api/models/admin/pushed')).json()) as { sha: string; lastModified: string }
  t.ok(info.lastModified >= before.lastModified, 'lastModified moved')
  t.equal(info.sha, head, 'repo info is at the pushed commit')
  const tree = (await (await authed(server, '/api/models/admin/pushed/tree/main')).json()) as { path: string; lfs?: { oid: string } }[]
  t.equal(tree.find((e) => e.path === 'model.bin')?.lfs?.oid, sha256(big), 'the tree lists it as LFS')

  // Pushing the same objects again (another clone) uploads nothing and still passes the check.
  await git(['clone', '-q', tokenUrl(server, 'admin/pushed'), 'again'], { cwd: dir })
  t.equal(sha256(fs.readFileSync(path.join(dir, 'again/model.bin'))), sha256(big), 'round trip through a fresh clone')
})

t.test('push a branch and a tag; the default branch cannot be deleted', async (t) => {
  const server = await startServer(t)
  const { git } = await gitClient(t)
  await createRepo(server, 'refs')
  const dir = scratchDir(t)
  await git(['clone', '-q', tokenUrl(server, 'admin/refs'), 'w'], { cwd: dir })
  const w = path.join(dir, 'w')
  // A 3 MiB file outside LFS: git sends it chunked, after a probe request.
  const blob = randomBytes(3 * 1024 * 1024)
  fs.writeFileSync(path.join(w, 'data.raw'), blob)
  fs.writeFileSync(path.join(w, 'feature.txt'), 'on a branch\n')
  await git(['add', '.'], { cwd: w })
  await git(['commit', '-q', '-m', 'feature work'], { cwd: w })
  await git(['push', '-q', 'origin', 'HEAD:refs/heads/feature/x'], { cwd: w })
  await git(['tag', '-a', 'v1.0', '-m', 'release'], { cwd: w })
  await git(['tag', 'light'], { cwd: w })
  await git(['push', '-q', 'origin', 'v1.0', 'light'], { cwd: w })

  t.equal((await resolveText(server, 'admin/refs', 'feature/x', 'feature.txt')).body.toString(), 'on a branch\n', 'branch')
  t.equal(sha256((await resolveText(server, 'admin/refs', 'feature/x', 'data.raw')).body), sha256(blob), 'large non-LFS file')
  t.equal((await resolveText(server, 'admin/refs', 'v1.0', 'feature.txt')).body.toString(), 'on a branch\n', 'annotated tag')
  t.equal((await resolveText(server, 'admin/refs', 'light', 'feature.txt')).status, 200, 'lightweight tag')
  t.equal((await resolveText(server, 'admin/refs', 'main', 'feature.txt')).status, 404, 'main did not move')

  const del = await git(['push', 'origin', ':main'], { cwd: w, allowFail: true })
  t.not(del.code, 0, 'deleting the default branch is refused')
  t.match(del.stderr, 'refusing to delete the default branch')
  t.equal((await resolveText(server, 'admin/refs', 'main', '.gitattributes')).status, 200, 'main is still there')
  const pr = await git(['push', 'origin', 'HEAD:refs/pr/1'], { cwd: w, allowFail: true })
  t.not(pr.code, 0, 'only branches and tags')
  await git(['push', '-q', 'origin', ':feature/x'], { cwd: w })
  t.equal((await resolveText(server, 'admin/refs', 'feature/x', 'feature.txt')).status, 404, 'another branch can be deleted')
  t.equal((await resolveText(server, 'admin/refs', 'v1.0', 'feature.txt')).status, 200, 'its commits stay with the tag')
})

t.test('a push whose LFS objects were not uploaded is rejected naming the oid', { skip: needsGitLfs() }, async (t) => {
  const server = await startServer(t)
  const { git } = await gitClient(t, { lfs: true })
  await createRepo(server, 'lfs-check')
  const dir = scratchDir(t)
  await git(['clone', '-q', tokenUrl(server, 'admin/lfs-check'), 'w'], { cwd: dir })
  const w = path.join(dir, 'w')
  const big = randomBytes(300_000)
  fs.writeFileSync(path.join(w, 'weights.bin'), big)
  await git(['add', 'weights.bin'], { cwd: w })
  await git(['commit', '-q', '-m', 'weights'], { cwd: w })

  const skipped = await git(['push', 'origin', 'main'], { cwd: w, env: { GIT_LFS_SKIP_PUSH: '1' }, allowFail: true })
  t.not(skipped.code, 0, 'rejected')
  t.match(skipped.stderr, sha256(big), 'the message names the missing oid')
  t.match(skipped.stderr, 'pre-receive hook declined')
  t.equal((await resolveText(server, 'admin/lfs-check', 'main', 'weights.bin')).status, 404, 'main did not move')

  // The hook's Node client (used where curl is missing) gives the same answer.
  server.ctx.git.hookClient = 'node'
  const viaNode = await git(['push', 'origin', 'main'], { cwd: w, env: { GIT_LFS_SKIP_PUSH: '1' }, allowFail: true })
  t.not(viaNode.code, 0, 'rejected through the Node hook client too')
  t.match(viaNode.stderr, sha256(big))

  await git(['push', '-q', 'origin', 'main'], { cwd: w })
  t.equal(sha256((await resolveText(server, 'admin/lfs-check', 'main', 'weights.bin')).body), sha256(big), 'accepted once uploaded')

  // The hook endpoint trusts nothing but the one-time token of a push in progress.
  const forged = await fetch(`${server.url}/api/_internal/git-hooks/pre-receive`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'x-hubd-hook-token': 'a'.repeat(48) },
    body: '\n',
  })
  t.equal(forged.status, 403, 'unknown hook token')
})

t.test('a read token cannot push; anonymous pushes are asked for credentials', async (t) => {
  const server = await startServer(t)
  const { git } = await gitClient(t)
  const reader = server.ctx.users.ensureUser('reader')
  const readToken = 'hf_readerReadOnly0123456789abcdef'
  server.ctx.users.addToken(reader.id, 'read-only', 'read', hashToken(readToken))
  await createRepo(server, 'mine', { organization: 'reader' })
  const dir = scratchDir(t)
  await git(['clone', '-q', tokenUrl(server, 'reader/mine', readToken), 'w'], { cwd: dir })
  const w = path.join(dir, 'w')
  fs.writeFileSync(path.join(w, 'x.txt'), 'x\n')
  await git(['add', 'x.txt'], { cwd: w })
  await git(['commit', '-q', '-m', 'x'], { cwd: w })
  const denied = await git(['push', 'origin', 'main'], { cwd: w, allowFail: true })
  t.not(denied.code, 0)
  t.match(denied.stderr, '403', 'a read token gets 403')
  const info = await fetch(`${server.url}/reader/mine/info/refs?service=git-receive-pack`, {
    headers: { authorization: `Bearer ${readToken}` },
  })
  t.equal(info.status, 403)
  t.match(await info.text(), 'read-only', 'git says why: the token is read-only')

  const anon = await fetch(`${server.url}/reader/mine/info/refs?service=git-receive-pack`)
  t.equal(anon.status, 401)
  t.equal(anon.headers.get('www-authenticate'), 'Basic realm="hubd"')
  await git(['remote', 'set-url', 'origin', `${server.url}/reader/mine`], { cwd: w })
  const noCreds = await git(['push', 'origin', 'main'], { cwd: w, allowFail: true })
  t.not(noCreds.code, 0, 'anonymous push fails (git would prompt)')
  t.equal((await resolveText(server, 'reader/mine', 'main', 'x.txt')).status, 404, 'nothing was pushed')
})
