/**
 * Regression: a full repack used to delete the packs it folded (`git repack -a -d`) while a
 * reader (isomorphic-git, which never takes the repository lock) had just listed them; the read
 * then failed (`TypeError … 'slice'` in loadPackIndex, a 500 to the client). Reads running
 * alongside full passes must all succeed, and superseded packs only go after a grace period.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { GitCli } from '../../storage/git/git-cli.js'
import { deleteSuperseded, packStats, repack } from '../../storage/git/maintenance.js'
import { RepoStore } from '../../storage/git/repo-store.js'

const ID = 'ab0123456789'
const who = { name: 'T', email: 't@example.org' }

async function setup(t: Test) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-repack-race-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  const cli = await GitCli.detect('git', process.env.PATH ?? '/usr/bin:/bin', root)
  const store = new RepoStore(path.join(root, 'repos'))
  // A few hundred objects in two folders, committed as loose objects and then packed.
  const files: { oid: string; body: string }[] = []
  await store.create(ID, 'main', async (repo) => {
    const trees: { mode: string; path: string; oid: string; type: 'tree' }[] = []
    for (const dir of ['a', 'b']) {
      const entries = []
      for (let i = 0; i < 100; i++) {
        const body = `${dir}/${i} ${randomBytes(8).toString('hex')}\n`
        const oid = await repo.writeBlob(Buffer.from(body))
        files.push({ oid, body })
        entries.push({ mode: '100644', path: `f${i}.txt`, oid, type: 'blob' as const })
      }
      trees.push({ mode: '040000', path: dir, oid: await repo.writeTree(entries), type: 'tree' })
    }
    const commit = await repo.writeCommit({ tree: await repo.writeTree(trees), parents: [], message: 'seed\n', author: who })
    fs.writeFileSync(path.join(repo.gitdir, 'refs/heads/main'), `${commit}\n`)
  })
  return { cli: cli!, store, gitdir: store.gitdir(ID), files }
}

function packNames(gitdir: string): string[] {
  return fs.readdirSync(path.join(gitdir, 'objects/pack')).filter((n) => n.endsWith('.pack'))
}

/**
 * Runs readers as the routes do (the store's current GitRepo, no lock) against full passes as the
 * maintenance service runs them (under the repo mutex, then the cache dropped), for `ms`. Each pass
 * packs one new loose object, so every pass writes a pack of a new name. `graceMs` 0 deletes the
 * superseded packs right after each pass: then only the readers' retry keeps reads whole.
 */
async function race(t: Test, graceMs: number | null, ms = 3000) {
  const { cli, store, gitdir, files } = await setup(t)
  await repack(cli, gitdir, 'full')
  let stop = false
  let reads = 0
  const failures: string[] = []
  const reader = async (n: number) => {
    for (let i = n; !stop; i++) {
      const f = files[i % files.length]!
      try {
        const body = (await store.open(ID).readBlob(f.oid)).toString('utf8')
        if (body !== f.body) failures.push(`wrong content for ${f.oid}`)
      } catch (err) {
        failures.push(String(err).slice(0, 300))
      }
      reads++
      // Now and then a brand-new cache, as after a restart or in another hubd process.
      if (i % 7 === 0) store.invalidate(ID)
    }
  }
  const readers = Array.from({ length: 16 }, (_, n) => reader(n * 13))
  let passes = 0
  const until = Date.now() + ms
  while (Date.now() < until) {
    await store.open(ID).writeBlob(randomBytes(32))
    await store.exclusive(ID, async () => {
      await repack(cli, gitdir, 'full')
      store.invalidate(ID)
    })
    if (graceMs !== null) await deleteSuperseded(gitdir, graceMs)
    passes++
  }
  stop = true
  await Promise.all(readers)
  t.ok(passes >= 3, `${passes} full passes`)
  t.ok(reads > 100, `${reads} reads`)
  t.same(failures.slice(0, 3), [], `no read failed (${failures.length} failures)`)
  return { cli, store, gitdir, files, passes }
}

t.test('reads never fail while full repacks run in a loop', async (t) => {
  const { gitdir, passes } = await race(t, null)
  t.equal(packNames(gitdir).length, passes + 1, 'superseded packs are still there')
  t.same(await packStats(gitdir), { loose: 0, packs: 1 }, 'only the newest pack counts')
  t.equal(await deleteSuperseded(gitdir), 0, 'none deleted within the grace period')
})

t.test('reads retry once when a pack they listed is deleted under them', async (t) => {
  const { gitdir } = await race(t, 0)
  t.equal(packNames(gitdir).length, 1, 'superseded packs deleted at once with no grace period')
})

t.test('superseded packs go after the grace period; git and isomorphic-git read on', async (t) => {
  const { cli, store, gitdir, files } = await setup(t)
  const objects = (n: number) => store.open(ID).writeBlob(Buffer.from(`extra ${n}\n`))
  await repack(cli, gitdir, 'incremental') // pack 1: what is reachable
  const pending = await objects(1) // unreachable, loose
  await repack(cli, gitdir, 'full')
  t.equal(packNames(gitdir).length, 2, 'the old pack stays beside the new one')
  t.same(await packStats(gitdir), { loose: 0, packs: 1 })
  const bitmaps = fs.readdirSync(path.join(gitdir, 'objects/pack')).filter((n) => n.endsWith('.bitmap'))
  t.ok(bitmaps.length <= 1, 'at most one bitmap (git ignores and warns about others)')
  const fsck = await cli.run(['--git-dir', gitdir, 'fsck', '--strict']).then(() => 0, () => 1)
  t.equal(fsck, 0, 'fsck clean with duplicate objects across packs')

  // Not yet due; then due (a marker dated back past the grace period).
  t.equal(await deleteSuperseded(gitdir, 60_000), 0)
  t.equal(await deleteSuperseded(gitdir, 60_000, Date.now() + 61_000), 1, 'deleted once due')
  t.equal(packNames(gitdir).length, 1)
  t.same(fs.readdirSync(path.join(gitdir, 'hubd-superseded')), [], 'marker gone')
  store.invalidate(ID)
  for (const f of files.slice(0, 20)) t.equal((await store.open(ID).readBlob(f.oid)).toString('utf8'), f.body)
  t.equal((await cli.run(['--git-dir', gitdir, 'cat-file', 'blob', pending])).toString(), 'extra 1\n', 'unreachable object kept')
})

t.test('a superseded pack with objects in no live pack is not deleted', async (t) => {
  const { cli, gitdir, store } = await setup(t)
  await repack(cli, gitdir, 'full')
  const [only] = packNames(gitdir)
  const base = only!.replace(/\.pack$/, '')
  // As if its objects had been left out of the superseding pack (e.g. a push's pack kept then).
  fs.mkdirSync(path.join(gitdir, 'hubd-superseded'), { recursive: true })
  fs.writeFileSync(path.join(gitdir, 'hubd-superseded', base), '')
  t.same(await packStats(gitdir), { loose: 0, packs: 0 })
  t.equal(await deleteSuperseded(gitdir, 0), 0, 'kept: nothing else holds its objects')
  t.same(await packStats(gitdir), { loose: 0, packs: 1 }, 'live again, for the next full pass')
  t.equal(packNames(gitdir).length, 1)
  // A pack a push still holds (.keep, until its refs moved) is never marked superseded.
  fs.rmSync(path.join(gitdir, 'hubd-superseded', base), { force: true })
  fs.writeFileSync(path.join(gitdir, 'objects/pack', `${base}.keep`), 'receive-pack\n')
  await store.open(ID).writeBlob(Buffer.from('more\n'))
  await repack(cli, gitdir, 'full')
  t.same(fs.readdirSync(path.join(gitdir, 'hubd-superseded')), [], 'the kept pack is not superseded')
  t.same(await packStats(gitdir), { loose: 0, packs: 2 })
})
