import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { ADMIN_TOKEN } from '../helpers/server.js'
import { freePort, spawnServer, type ServerProcess } from '../helpers/process.js'

const MiB = 1024 * 1024
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }

function tempDataDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-crash-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function api(s: ServerProcess, p: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}${p}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } })
}

async function createRepo(s: ServerProcess, name: string): Promise<void> {
  const res = await api(s, '/api/repos/create', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
  if (res.status !== 200) throw new Error(await res.text())
}

async function head(s: ServerProcess, repo: string): Promise<string> {
  return ((await (await api(s, `/api/models/${repo}/revision/main`)).json()) as { sha: string }).sha
}

function commitBody(summary: string, files: Record<string, Buffer>, parent?: string): string {
  const lines: unknown[] = [{ key: 'header', value: { summary, ...(parent ? { parentCommit: parent } : {}) } }]
  for (const [p, c] of Object.entries(files)) lines.push({ key: 'file', value: { path: p, content: c.toString('base64'), encoding: 'base64' } })
  return lines.map((l) => JSON.stringify(l)).join('\n')
}

async function commit(s: ServerProcess, repo: string, summary: string, files: Record<string, Buffer>, parent?: string) {
  return api(s, `/api/models/${repo}/commit/main`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: commitBody(summary, files, parent),
  })
}

/** Every file under `dir`, recursively (missing dir → none). */
function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
}

function gitdirOf(dataDir: string): string {
  const root = path.join(dataDir, 'repos')
  for (const shard of fs.readdirSync(root)) {
    if (shard.startsWith('.')) continue
    for (const d of fs.readdirSync(path.join(root, shard))) return path.join(root, shard, d)
  }
  throw new Error('no repo')
}

const hasGit = (() => {
  try {
    execFileSync('git', ['--version'])
    return true
  } catch {
    return false
  }
})()

t.test('SIGKILL in the middle of an LFS upload: nothing half-written survives', async (t) => {
  const dataDir = tempDataDir(t)
  const port = await freePort()
  let s = await spawnServer(dataDir, port)
  t.teardown(() => s.kill())
  await createRepo(s, 'crash-lfs')
  const before = await head(s, 'admin/crash-lfs')

  const size = 64 * MiB
  const data = randomBytes(size)
  const oid = createHash('sha256').update(data).digest('hex')
  const batch = await api(s, '/admin/crash-lfs.git/info/lfs/objects/batch', {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid, size }] }),
  })
  const href = ((await batch.json()) as { objects: { actions: { upload: { href: string } } }[] }).objects[0]!.actions.upload.href

  // Send half the object, wait until the server has it in a temp file, then kill it.
  const req = http.request(href, { method: 'PUT', headers: { 'content-length': size } })
  req.on('error', () => {})
  req.write(data.subarray(0, size / 2))
  const tmpRoot = path.join(dataDir, 'blobs', 'tmp')
  for (let i = 0; i < 200 && !walk(tmpRoot).some((f) => fs.statSync(f).size > 0); i++) await new Promise((r) => setTimeout(r, 25))
  t.ok(walk(tmpRoot).length > 0, 'the upload was in progress in a temp file')
  await s.kill('SIGKILL')
  req.destroy()

  s = await spawnServer(dataDir, port)
  t.same(walk(tmpRoot), [], 'temp files of the dead process are cleaned up at restart')
  t.same(walk(path.join(dataDir, 'blobs', 'sha256')), [], 'no object was published')
  const again = await api(s, '/admin/crash-lfs.git/info/lfs/objects/batch', {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid, size }] }),
  })
  const obj = ((await again.json()) as { objects: { actions?: { upload: { href: string } } }[] }).objects[0]!
  t.ok(obj.actions?.upload, 'the server still asks for the object')
  t.equal(await head(s, 'admin/crash-lfs'), before, 'the branch did not move')

  // And the upload can be redone in full.
  const put = await fetch(obj.actions!.upload.href, { method: 'PUT', body: data })
  t.equal(put.status, 200)
  t.equal(walk(path.join(dataDir, 'blobs', 'sha256')).length, 1)
})

t.test('SIGKILL during commits: every acknowledged commit survives, no ref is left locked', async (t) => {
  const dataDir = tempDataDir(t)
  const port = await freePort()
  let s = await spawnServer(dataDir, port)
  t.teardown(() => s.kill())
  await createRepo(s, 'crash-commit')

  // A steady stream of commits, each with a few hundred KiB of content, killed at a random moment.
  const acknowledged: string[] = []
  let stop = false
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        const res = await commit(s, 'admin/crash-commit', `c${i}`, { [`f${i % 7}.txt`]: randomBytes(300 * 1024), 'n.txt': Buffer.from(String(i)) })
        if (res.status === 200) acknowledged.push(((await res.json()) as { commitOid: string }).commitOid)
      } catch {
        return // connection reset by the kill
      }
    }
  })()
  await new Promise((r) => setTimeout(r, 800 + Math.random() * 700))
  await s.kill('SIGKILL')
  stop = true
  await writer
  t.ok(acknowledged.length > 0, `${acknowledged.length} commits were acknowledged before the kill`)

  s = await spawnServer(dataDir, port)
  const sha = await head(s, 'admin/crash-commit')
  const gitdir = gitdirOf(dataDir)
  if (hasGit) {
    const history = execFileSync('git', ['--git-dir', gitdir, 'rev-list', 'main'], { encoding: 'utf8' }).split('\n')
    for (const c of acknowledged) t.ok(history.includes(c), `acknowledged ${c.slice(0, 8)} is in the history`)
    t.equal(history[0], sha)
    execFileSync('git', ['--git-dir', gitdir, 'fsck', '--no-dangling'], { stdio: 'pipe' })
    t.pass('git fsck is clean')
  } else {
    t.equal(sha, acknowledged.at(-1), 'head is the last acknowledged commit (or one the kill interrupted)')
  }
  t.same(walk(path.join(gitdir, 'refs')).filter((f) => f.endsWith('.lock')), [], 'no ref lock is left behind')
  const next = await commit(s, 'admin/crash-commit', 'after restart', { 'after.txt': Buffer.from('ok') }, sha)
  t.equal(next.status, 200, 'the branch takes new commits at once')
})

t.test('two server processes on one data dir: concurrent commits are never lost', async (t) => {
  const dataDir = tempDataDir(t)
  const [a, b] = await Promise.all([freePort(), freePort()])
  const s1 = await spawnServer(dataDir, a)
  t.teardown(() => s1.kill())
  await createRepo(s1, 'race')
  const s2 = await spawnServer(dataDir, b)
  t.teardown(() => s2.kill())
  const acked: string[] = []
  const run = async (s: ServerProcess, tag: string) => {
    for (let i = 0; i < 15; i++) {
      const res = await commit(s, 'admin/race', `${tag}${i}`, { [`${tag}/${i}.txt`]: Buffer.from(`${tag}${i}`) })
      t.equal(res.status, 200, `${tag}${i} acknowledged`)
      acked.push(((await res.json()) as { commitOid: string }).commitOid)
    }
  }
  await Promise.all([run(s1, 'a'), run(s1, 'b'), run(s2, 'c'), run(s2, 'd')])
  const tree = (await (await api(s1, '/api/models/admin/race/tree/main?recursive=true')).json()) as { path: string; type: string }[]
  const files = tree.filter((e) => e.type === 'file' && e.path !== '.gitattributes')
  t.equal(files.length, 60, 'all 60 files from 60 acknowledged commits are on main')
  if (hasGit) {
    const history = execFileSync('git', ['--git-dir', gitdirOf(dataDir), 'rev-list', 'main'], { encoding: 'utf8' })
    t.ok(acked.every((c) => history.includes(c)), 'every acknowledged commit is in the history')
  }
})
