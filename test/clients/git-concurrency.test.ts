/**
 * Pushes and API commits racing on one branch: both move refs through git's lockfile
 * compare-and-swap, so every acknowledged commit must end up in the branch's history, and the
 * repository must stay sound for git (fsck) with maintenance packing it meanwhile.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ANONYMOUS } from '../../server/auth/access.js'
import { gitClient, scratchDir, tokenUrl } from '../helpers/git.js'
import { commitLines, createRepo, startServer } from '../helpers/server.js'

const PUSHERS = 4
const PUSHES_EACH = 10
const API_COMMITS = 40

t.test(`${PUSHERS} pushers × ${PUSHES_EACH} pushes and ${API_COMMITS} API commits on one branch lose nothing`, async (t) => {
  // Maintenance every 10 writes: repacks run while the pushes and commits go on.
  const server = await startServer(t, { HUBD_GIT_MAINTENANCE_WRITES: '10' })
  const { git } = await gitClient(t)
  await createRepo(server, 'busy')
  const repo = await server.ctx.repos.get('model', 'admin', 'busy', ANONYMOUS, 'read')
  const dir = scratchDir(t)
  const url = tokenUrl(server, 'admin/busy')

  const rejections = { push: 0, api: 0 }
  const spent = { push: 0, pull: 0, prep: 0, api: 0 }
  const timed = async <T>(k: keyof typeof spent, p: Promise<T>): Promise<T> => {
    const t0 = Date.now()
    try {
      return await p
    } finally {
      spent[k] += Date.now() - t0
    }
  }
  const started = Date.now()
  const pusher = async (i: number): Promise<string[]> => {
    const w = path.join(dir, `p${i}`)
    await git(['clone', '-q', url, w])
    const acked: string[] = []
    for (let n = 0; n < PUSHES_EACH; n++) {
      fs.mkdirSync(path.join(w, `p${i}`), { recursive: true })
      fs.writeFileSync(path.join(w, `p${i}`, `${n}.txt`), `pusher ${i} push ${n}\n`)
      await timed('prep', git(['add', '-A'], { cwd: w }))
      await timed('prep', git(['commit', '-q', '-m', `pusher ${i} #${n}`], { cwd: w }))
      for (let attempt = 0; ; attempt++) {
        const pushed = await timed('push', git(['push', '-q', 'origin', 'HEAD:main'], { cwd: w, allowFail: true }))
        if (pushed.code === 0) break
        t.match(pushed.stderr, /fetch first|failed to update ref|cannot lock ref|non-fast-forward|stale info/, `pusher ${i}: an ordinary rejection`)
        if (attempt > 60) throw new Error(`pusher ${i} could not push: ${pushed.stderr}`)
        rejections.push++
        // Randomised backoff, or the losers all retry in lockstep and collide again.
        await new Promise((r) => setTimeout(r, Math.random() * 200 * 2 ** Math.min(attempt, 3)))
        const pulled = await timed('pull', git(['pull', '-q', '--rebase', 'origin', 'main'], { cwd: w, allowFail: true }))
        if (pulled.code !== 0) {
          const st = await git(['status', '--porcelain', '--untracked-files=all'], { cwd: w })
          const df = await git(['diff', '--stat'], { cwd: w })
          throw new Error(`pusher ${i}: pull failed: ${pulled.stderr}\nstatus:\n${st.stdout}\ndiff:\n${df.stdout}`)
        }
      }
      acked.push((await git(['rev-parse', 'HEAD'], { cwd: w })).stdout.trim())
    }
    return acked
  }
  const committer = async (): Promise<string[]> => {
    const acked: string[] = []
    for (let k = 0; k < API_COMMITS; k++) {
      const lines = [
        { key: 'header', value: { summary: `api #${k}`, description: '' } },
        { key: 'file', value: { path: `api/${k}.txt`, content: `api commit ${k}\n`, encoding: 'utf-8' } },
      ]
      for (;;) {
        const res = await timed('api', commitLines(server, 'models/admin/busy', 'main', lines))
        if (res.status === 200) {
          acked.push(((await res.json()) as { commitOid: string }).commitOid)
          break
        }
        // Anything but "busy" is a bug: show the server's error with the failure.
        if (res.status !== 409) t.comment(server.logs().split('\n').filter((l) => l.includes('"level":50')).join('\n'))
        t.equal(res.status, 409, `API commit ${k}: only "busy" may fail (${res.status})`)
        rejections.api++
        await res.arrayBuffer()
      }
      // Spread over the pushes' duration, so commits and pushes really interleave.
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 300))
    }
    return acked
  }

  const results = await Promise.all([committer(), ...Array.from({ length: PUSHERS }, (_, i) => pusher(i))])
  const acked = results.flat()
  t.equal(acked.length, API_COMMITS + PUSHERS * PUSHES_EACH)
  await server.ctx.maintenance.close()

  const gitdir = path.join(server.dataDir, 'repos', repo.id.slice(0, 2), `${repo.id}.git`)
  const history = new Set(execFileSync('git', ['--git-dir', gitdir, 'rev-list', 'main'], { encoding: 'utf8' }).trim().split('\n'))
  const lost = acked.filter((c) => !history.has(c))
  t.same(lost, [], 'every acknowledged commit is in main')
  const files = execFileSync('git', ['--git-dir', gitdir, 'ls-tree', '-r', '--name-only', 'main'], { encoding: 'utf8' })
  t.equal(files.split('\n').filter((f) => /^(api|p\d)\//.test(f)).length, acked.length, 'and every file is in the tree')
  const fsck = execFileSync('git', ['--git-dir', gitdir, 'fsck', '--strict', '--no-dangling', '--no-progress'], { encoding: 'utf8', stdio: 'pipe' })
  t.equal(fsck.trim(), '', 'git fsck is clean')
  t.comment(`rejected and retried: ${rejections.push} pushes, ${rejections.api} API commits; ${Date.now() - started} ms`)
  t.comment(`time spent (ms): ${JSON.stringify(spent)}; ${server.logs().split('repository packed').length - 1} maintenance runs`)
})
