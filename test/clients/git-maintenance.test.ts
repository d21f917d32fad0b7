/**
 * Maintenance packs what API commits leave loose, while clones, reads and writes go on: the
 * incremental pass deletes no pack, the full pass (past MAX_PACKS) keeps unreachable objects and
 * drops the isomorphic-git cache so reads never look for a deleted pack.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ANONYMOUS } from '../../server/auth/access.js'
import { atomicFs } from '../../storage/git/atomic-fs.js'
import { MAX_PACKS, packStats, repackNeeded } from '../../storage/git/maintenance.js'
import { gitClient, scratchDir } from '../helpers/git.js'
import { commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'

async function commit(server: TestServer, name: string, file: string, text: string): Promise<string> {
  const res = await commitLines(server, `models/admin/${name}`, 'main', [
    { key: 'header', value: { summary: `write ${file}`, description: '' } },
    { key: 'file', value: { path: file, content: text, encoding: 'utf-8' } },
  ])
  if (res.status !== 200) throw new Error(`commit: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { commitOid: string }).commitOid
}

async function gitdirOf(server: TestServer, name: string): Promise<{ id: string; gitdir: string }> {
  const repo = await server.ctx.repos.get('model', 'admin', name, ANONYMOUS, 'read')
  return { id: repo.id, gitdir: path.join(server.dataDir, 'repos', repo.id.slice(0, 2), `${repo.id}.git`) }
}

t.test('maintenance packs API commits; clones and reads go on meanwhile', async (t) => {
  const server = await startServer(t, { HUBD_GIT_MAINTENANCE_WRITES: '1000' })
  const { git } = await gitClient(t)
  await createRepo(server, 'packed')
  const { id, gitdir } = await gitdirOf(server, 'packed')
  for (let i = 0; i < 6; i++) await commit(server, 'packed', `f${i}.txt`, `${i}\n`)
  t.ok((await packStats(gitdir)).loose > 10, 'API commits leave loose objects')

  const dir = scratchDir(t)
  const clones = Promise.all([0, 1, 2].map((i) => git(['clone', '-q', `${server.url}/admin/packed`, `c${i}`], { cwd: dir })))
  t.ok(await server.ctx.maintenance.runNow(id))
  await clones
  t.same(await packStats(gitdir), { loose: 0, packs: 1 }, 'one pack, no loose object')
  const read = await fetch(`${server.url}/admin/packed/resolve/main/f5.txt`)
  t.equal(await read.text(), '5\n', 'reads after the cache was dropped')
  await commit(server, 'packed', 'after.txt', 'after\n')
  await git(['pull', '-q'], { cwd: path.join(dir, 'c0') })
  t.equal(fs.readFileSync(path.join(dir, 'c0/after.txt'), 'utf8'), 'after\n')
  const fsck = await git(['--git-dir', gitdir, 'fsck', '--strict'], { allowFail: true })
  t.equal(fsck.code, 0, `fsck clean: ${fsck.stderr}`)
})

t.test('the Nth write triggers maintenance; past MAX_PACKS everything folds into one pack', async (t) => {
  const server = await startServer(t, { HUBD_GIT_MAINTENANCE_WRITES: '1' })
  await createRepo(server, 'folded')
  const { id, gitdir } = await gitdirOf(server, 'folded')
  // Every commit schedules a pass: each packs its loose objects into one more pack.
  for (let i = 0; i <= MAX_PACKS; i++) {
    await commit(server, 'folded', `f${i}.txt`, `${i}\n`)
    await server.ctx.maintenance.runNow(id)
  }
  const stats = await packStats(gitdir)
  t.ok(stats.packs <= MAX_PACKS, `never more than ${MAX_PACKS} packs (${stats.packs})`)
  t.equal(stats.loose, 0)

  // An object nothing references yet (an API commit or a push in flight) survives a full pass.
  const pending = await server.ctx.content.git(server.ctx.repos.byId(id)!).writeBlob(Buffer.from('not yet referenced\n'))
  // Reads warm isomorphic-git's pack cache before the pass deletes those packs.
  t.equal(await (await fetch(`${server.url}/admin/folded/resolve/main/f0.txt`)).text(), '0\n')
  while ((await packStats(gitdir)).packs < MAX_PACKS) {
    await commit(server, 'folded', `g${(await packStats(gitdir)).packs}.txt`, 'more\n')
    await server.ctx.maintenance.runNow(id)
  }
  await commit(server, 'folded', 'last.txt', 'last\n')
  t.equal(await repackNeeded(gitdir), 'full')
  await server.ctx.maintenance.runNow(id)
  t.same(await packStats(gitdir), { loose: 0, packs: 1 }, 'folded into one pack')
  t.equal(execFileSync('git', ['--git-dir', gitdir, 'cat-file', 'blob', pending], { encoding: 'utf8' }), 'not yet referenced\n', 'unreachable object kept')
  for (const f of ['f0.txt', `f${MAX_PACKS}.txt`, 'last.txt']) {
    const res = await fetch(`${server.url}/admin/folded/resolve/main/${f}`)
    t.equal(res.status, 200, `${f} reads after the old packs were deleted`)
  }
  t.ok(server.logs().includes('"repack":"full"'), 'logged')
})

t.test('object writes survive prune-packed emptying their folder (regression)', async (t) => {
  // isomorphic-git creates objects/ab/ and then writes into it; `git repack -d` may remove the
  // folder in between once its last loose object is packed.
  const dir = scratchDir(t)
  fs.mkdirSync(path.join(dir, 'objects'))
  const file = path.join(dir, 'objects/ab/cdef')
  await atomicFs.promises.writeFile(file, 'object bytes')
  t.equal(fs.readFileSync(file, 'utf8'), 'object bytes', 'the fan-out folder is recreated')
  t.same(fs.readdirSync(path.join(dir, 'objects/ab')), ['cdef'], 'no temp file left')
  const gone = path.join(dir, 'deleted-repo/objects/ab/cdef')
  await t.rejects(atomicFs.promises.writeFile(gone, 'x'), { code: 'ENOENT' })
  t.notOk(fs.existsSync(path.join(dir, 'deleted-repo')), 'a deleted repository is not recreated')
})
