// Resolve answers are reused while no ref moves (GitRepo.sharedRefs, ContentService.remember).
// Two servers share one data dir, as several instances behind a load balancer do: every ref change
// made through either one (API commit, branch, tag, PR merge, push) must show at once on the
// other, which has the old answer warm; a ref moved behind hubd's back shows within about a second.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { buildApp } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createContext } from '../../server/context.js'
import { ADMIN_TOKEN, authed, commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import { gitClient, scratchDir, tokenUrl } from '../helpers/git.js'

const put = (path: string, text: string) => ({ key: 'file', value: { path, content: Buffer.from(text).toString('base64'), encoding: 'base64' } })
const header = (summary: string) => ({ key: 'header', value: { summary } })

async function startSecond(t: Test, first: TestServer): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadConfig({ HUBD_DATA_DIR: first.dataDir, HUBD_PORT: '0', HUBD_ADMIN_TOKEN: ADMIN_TOKEN, HUBD_FSYNC: 'false' })
  const ctx = await createContext(config)
  const app = await buildApp(ctx)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  ctx.setListenPort(port, '127.0.0.1')
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await app.close()
    ctx.close()
  }
  t.teardown(close)
  return { url: ctx.publicUrl(), close }
}

async function commitOf(res: Response): Promise<string> {
  if (res.status !== 200) throw new Error(`commit: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { commitOid: string }).commitOid
}

t.test('ref changes through one server show at once on another that has the answers warm', async (t) => {
  const a = await startServer(t)
  const b = await startSecond(t, a)
  const name = await createRepo(a, 'shared')
  const repo = `models/${name}`
  const v1 = await commitOf(await commitLines(a, repo, 'main', [header('v1'), put('a.txt', 'one')]))

  // Both methods, both servers, twice: the second answer is the remembered one.
  const look = async (base: string, rev: string, method = 'GET') => {
    const res = await fetch(`${base}/${name}/resolve/${rev}/a.txt`, { method })
    return { status: res.status, commit: res.headers.get('x-repo-commit'), body: method === 'GET' ? await res.text() : '', code: res.headers.get('x-error-code') }
  }
  for (let i = 0; i < 2; i++) {
    t.same(await look(b.url, 'main'), { status: 200, commit: v1, body: 'one', code: null })
    t.same(await look(b.url, 'main', 'HEAD'), { status: 200, commit: v1, body: '', code: null })
    t.equal((await look(b.url, 'dev')).code, 'RevisionNotFound', 'no branch dev yet')
    t.equal((await look(b.url, 'v1')).code, 'RevisionNotFound', 'no tag v1 yet')
  }

  // Tree, commits, paths-info and repo info share the view of the refs too.
  const tree = async (base: string) => ((await (await fetch(`${base}/api/${repo}/tree/main`)).json()) as { path: string }[]).map((e) => e.path)
  const headOf = async (base: string) => ((await (await fetch(`${base}/api/${repo}/commits/main`)).json()) as { id: string }[])[0]!.id
  const oidOf = async (base: string) => {
    const res = await fetch(`${base}/api/${repo}/paths-info/main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['a.txt'] }) })
    return ((await res.json()) as { oid: string }[])[0]!.oid
  }
  const infoOf = async (base: string) => {
    const info = (await (await fetch(`${base}/api/${repo}`)).json()) as { sha: string; siblings: { rfilename: string }[] }
    return { sha: info.sha, files: info.siblings.map((s) => s.rfilename) }
  }
  for (let i = 0; i < 2; i++) {
    t.same(await tree(b.url), ['.gitattributes', 'a.txt'])
    t.equal(await headOf(b.url), v1)
    t.same(await infoOf(b.url), { sha: v1, files: ['.gitattributes', 'a.txt'] })
  }
  const oid1 = await oidOf(b.url)

  // An API commit on a (b has main warm from the loops above).
  const v2 = await commitOf(await commitLines(a, repo, 'main', [header('v2'), put('a.txt', 'two'), put('b.txt', 'bee')]))
  t.same(await tree(b.url), ['.gitattributes', 'a.txt', 'b.txt'], 'tree on b follows')
  t.equal(await headOf(b.url), v2, 'commits on b follow')
  t.same(await infoOf(b.url), { sha: v2, files: ['.gitattributes', 'a.txt', 'b.txt'] }, 'repo info on b follows')
  t.not(await oidOf(b.url), oid1, 'paths-info on b follows')
  t.same(await look(b.url, 'main'), { status: 200, commit: v2, body: 'two', code: null }, 'commit seen by the other server')
  t.same(await look(b.url, 'main', 'HEAD'), { status: 200, commit: v2, body: '', code: null })
  t.same(await look(a.url, 'main'), { status: 200, commit: v2, body: 'two', code: null }, 'and by the writer')

  // Branch and tag created on a, used on b (each asked for on b just before); then the branch deleted.
  t.equal((await look(b.url, 'dev')).code, 'RevisionNotFound')
  t.equal((await authed(a, `/api/${repo}/branch/dev`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ startingPoint: v1 }) })).status, 200)
  t.same(await look(b.url, 'dev'), { status: 200, commit: v1, body: 'one', code: null }, 'new branch seen')
  t.equal((await look(b.url, 'v1')).code, 'RevisionNotFound')
  t.equal((await authed(a, `/api/${repo}/tag/main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tag: 'v1' }) })).status, 200)
  t.same(await look(b.url, 'v1'), { status: 200, commit: v2, body: 'two', code: null }, 'new tag seen')
  // A commit to the branch on b, read on a (which has dev warm).
  t.same(await look(a.url, 'dev'), { status: 200, commit: v1, body: 'one', code: null })
  const d2 = await commitOf(await commitLines({ ...a, url: b.url }, repo, 'dev', [header('d2'), put('a.txt', 'dev two')]))
  t.same(await look(a.url, 'dev'), { status: 200, commit: d2, body: 'dev two', code: null }, 'commit on b seen by a')
  t.same(await look(b.url, 'dev'), { status: 200, commit: d2, body: 'dev two', code: null })
  t.equal((await authed(a, `/api/${repo}/branch/dev`, { method: 'DELETE' })).status, 200)
  t.equal((await look(b.url, 'dev')).code, 'RevisionNotFound', 'deleted branch gone')

  // A pull request merged on a.
  const pr = await authed(a, `/api/${repo}/commit/main?create_pr=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: [header('pr'), put('a.txt', 'three')].map((l) => JSON.stringify(l)).join('\n'),
  })
  t.equal(pr.status, 200)
  const prUrl = ((await pr.json()) as { pullRequestUrl: string }).pullRequestUrl
  const num = Number(prUrl.split('/').pop())
  t.equal((await look(b.url, `refs%2Fpr%2F${num}`)).body, 'three', 'PR ref seen')
  t.equal((await look(b.url, 'main')).body, 'two')
  const merge = await authed(a, `/api/${repo}/discussions/${num}/merge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.equal(merge.status, 200, await merge.clone().text())
  t.equal((await look(b.url, 'main')).body, 'three', 'merge seen')

  // A push to a with the git CLI.
  const git = await gitClient(t)
  const dir = scratchDir(t)
  await git.git(['clone', tokenUrl(a, name), dir])
  fs.writeFileSync(path.join(dir, 'a.txt'), 'pushed\n')
  await git.git(['add', 'a.txt'], { cwd: dir })
  await git.git(['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'push'], { cwd: dir })
  t.equal((await look(b.url, 'main')).body, 'three')
  await git.git(['push', 'origin', 'main'], { cwd: dir })
  const head = (await git.git(['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim()
  t.same(await look(b.url, 'main'), { status: 200, commit: head, body: 'pushed\n', code: null }, 'push seen')

  // Behind hubd's back (git run by hand on the bare repo): seen within about a second.
  const actor = a.ctx.auth.actorFor(`Bearer ${a.token}`)
  const gitdir = a.ctx.content.git(await a.ctx.repos.get('model', 'admin', 'shared', actor, 'read')).gitdir
  execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/main', v1])
  const deadline = Date.now() + 5000
  let seen = await look(b.url, 'main')
  while (seen.commit !== v1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    seen = await look(b.url, 'main')
  }
  t.same(seen, { status: 200, commit: v1, body: 'one', code: null }, 'a ref moved by hand shows up')
  await b.close()
})
