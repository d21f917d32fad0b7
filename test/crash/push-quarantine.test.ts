/**
 * A push killed mid-way (issue 13, item 5): `kill -9` of hubd and its git receive-pack leaves git's
 * quarantine (`objects/tmp_objdir-incoming-*`, as large as the pack being received) behind; the
 * next start removes it once it is older than any push that could still be running.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { STALE_QUARANTINE_MS } from '../../storage/git/quarantine.js'
import { diskUsage } from '../helpers/disk.js'
import { freePort, spawnServer } from '../helpers/process.js'
import { ADMIN_TOKEN } from '../helpers/server.js'

const MiB = 1024 * 1024

const hasGit = (() => {
  try {
    execFileSync('git', ['--version'], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
})()

function pktLine(text: string): Buffer {
  return Buffer.from((text.length + 4).toString(16).padStart(4, '0') + text)
}

/** Every process below `pid` (children first found through /proc), deepest last. */
function descendants(pid: number): number[] {
  const out: number[] = []
  const tasks = fs.readdirSync(`/proc/${pid}/task`, { withFileTypes: false }) as string[]
  for (const task of tasks) {
    const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()
    for (const c of children ? children.split(' ').map(Number) : []) out.push(c, ...descendants(c))
  }
  return out
}

/** The quarantine folders git made under the repository's objects/. */
function gitQuarantines(dataDir: string): string[] {
  const root = path.join(dataDir, 'repos')
  const found: string[] = []
  for (const shard of fs.readdirSync(root).filter((n) => !n.startsWith('.'))) {
    for (const repo of fs.readdirSync(path.join(root, shard))) {
      const objects = path.join(root, shard, repo, 'objects')
      for (const n of fs.readdirSync(objects)) if (n.startsWith('tmp_objdir-incoming-')) found.push(path.join(objects, n))
    }
  }
  return found
}

t.test('a push killed with SIGKILL: its quarantine is removed at the next start', { skip: hasGit && fs.existsSync('/proc/self/task') ? false : 'needs git and /proc' }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-crash-push-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  let s = await spawnServer(dataDir, port)
  t.teardown(() => s.kill())
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const created = await fetch(`${s.url}/api/repos/create`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'pushed' }) })
  t.equal(created.status, 200)
  const head = ((await (await fetch(`${s.url}/api/models/admin/pushed/revision/main`, { headers: auth })).json()) as { sha: string }).sha

  // A 24 MiB pack for a commit on top of main, built with git in a scratch repository; over
  // git's unpackLimit (100 objects), so receive-pack streams it into its quarantine with index-pack.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-crash-push-work-'))
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }))
  const git = (args: string[], input?: Buffer) =>
    execFileSync('git', args, { cwd: work, input, maxBuffer: 256 * MiB, env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1', HOME: work, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' } })
  git(['init', '-q', '--bare', '.'])
  const blobs = Array.from({ length: 150 }, () => git(['hash-object', '-w', '--stdin'], randomBytes(160 * 1024)).toString().trim())
  const tree = git(['mktree'], Buffer.from(blobs.map((b, i) => `100644 blob ${b}\tpart-${i}.bin\n`).join(''))).toString().trim()
  const commit = git(['commit-tree', tree, '-m', 'big'], Buffer.alloc(0)).toString().trim()
  const pack = git(['pack-objects', '--stdout', '-q'], Buffer.from([commit, tree, ...blobs].join('\n') + '\n'))

  // Send the commands and half of the pack, then hold the request open: receive-pack is now
  // writing into its quarantine.
  const req = http.request(`${s.url}/admin/pushed.git/git-receive-pack`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`user:${ADMIN_TOKEN}`).toString('base64')}`,
      'content-type': 'application/x-git-receive-pack-request',
      'content-length': 0, // replaced below
    },
  })
  const body = Buffer.concat([pktLine(`${head} ${commit} refs/heads/main\0report-status\n`), Buffer.from('0000'), pack])
  req.setHeader('content-length', body.length)
  req.on('error', () => {})
  req.write(body.subarray(0, body.length / 2))
  let quarantines: string[] = []
  for (let i = 0; i < 400 && !(quarantines = gitQuarantines(dataDir)).some((q) => diskUsage(q) > 4 * MiB); i++) {
    await new Promise((r) => setTimeout(r, 25))
  }
  t.equal(quarantines.length, 1, 'git is receiving into a quarantine')

  // As a container stop or the OOM killer would: git gets no chance to clean up.
  for (const pid of descendants(s.child.pid!)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  await s.kill('SIGKILL')
  req.destroy()
  t.ok(fs.existsSync(quarantines[0]!), 'the killed push left its quarantine behind')
  const size = diskUsage(quarantines[0]!)
  t.ok(size > 4 * MiB, `it holds ${(size / MiB).toFixed(1)} MiB`)

  // A restart soon after keeps it: a push of another process sharing the data dir may be running.
  s = await spawnServer(dataDir, port)
  t.ok(fs.existsSync(quarantines[0]!), 'a recent quarantine is kept')
  await s.kill('SIGTERM')

  // Once older than any push could still be running, the next start removes it.
  const old = new Date(Date.now() - STALE_QUARANTINE_MS - 60_000)
  for (const p of [...fs.readdirSync(quarantines[0]!, { recursive: true }).map((n) => path.join(quarantines[0]!, String(n))), quarantines[0]!]) {
    fs.utimesSync(p, old, old)
  }
  s = await spawnServer(dataDir, port)
  t.same(gitQuarantines(dataDir), [], 'the abandoned quarantine is gone')
  const after = await fetch(`${s.url}/api/models/admin/pushed/revision/main`, { headers: auth })
  t.equal(((await after.json()) as { sha: string }).sha, head, 'main did not move')
})
