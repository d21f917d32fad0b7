/**
 * Quarantined object writes (issue 13, items 2 and 5): objects of a write stay out of the
 * repository until published, and the start-up sweep removes quarantines left by killed writers
 * (ours, and git receive-pack's `tmp_objdir-incoming-*`) but never a live one.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { GitRepo } from '../../storage/git/git-repo.js'
import { STALE_QUARANTINE_MS, sweepQuarantines } from '../../storage/git/quarantine.js'
import { RepoStore } from '../../storage/git/repo-store.js'

/** A pid that is certainly not running (pid_max is at most 2^22 on Linux). */
const DEAD_PID = 4_194_304 + 17

const looseFile = (gitdir: string, oid: string) => path.join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2))
const leftovers = (gitdir: string) => fs.readdirSync(path.join(gitdir, 'objects')).filter((n) => n.includes('incoming'))

t.test('objects written through a quarantine reach the repository only when published', async (t) => {
  const gitdir = path.join(t.testdir(), 'r.git')
  const main = await GitRepo.init(gitdir, 'main')
  const { repo, quarantine } = main.quarantined()
  const oid = await repo.writeBlob(Buffer.from('quarantined content'))
  t.notOk(fs.existsSync(looseFile(gitdir, oid)), 'not in the repository before publish')
  t.equal((await repo.readBlob(oid)).toString(), 'quarantined content', 'the quarantined view reads it')
  const tree = await repo.writeTree([{ mode: '100644', path: 'a.txt', oid, type: 'blob' }])
  t.equal((await repo.readTree(tree))[0]?.oid, oid)
  await t.rejects(main.readBlob(oid), 'the repository itself does not see it')

  await quarantine.publish()
  t.ok(fs.existsSync(looseFile(gitdir, oid)), 'published into objects/')
  t.equal((await main.readBlob(oid)).toString(), 'quarantined content')
  await quarantine.discard()
  t.same(leftovers(gitdir), [], 'the quarantine folder is gone')

  // An object already in the repository is read from there and not written again.
  const second = main.quarantined()
  t.equal(await second.repo.writeBlob(Buffer.from('quarantined content')), oid)
  t.equal((await second.repo.readTree(tree)).length, 1, 'reads fall back to the repository')
  const discarded = await second.repo.writeBlob(Buffer.from('refused'))
  await second.quarantine.discard()
  t.notOk(fs.existsSync(looseFile(gitdir, discarded)), 'a discarded object never reaches the repository')
  t.same(leftovers(gitdir), [])
})

t.test('the start-up sweep removes dead quarantines and leaves live ones', async (t) => {
  const root = t.testdir()
  const store = new RepoStore(root)
  await store.create('abcdef0123456789', 'main', async () => {})
  const gitdir = store.gitdir('abcdef0123456789')
  const objects = path.join(gitdir, 'objects')
  const make = (name: string, ageMs = 0) => {
    const dir = path.join(objects, name)
    fs.mkdirSync(path.join(dir, 'pack'), { recursive: true })
    fs.writeFileSync(path.join(dir, 'pack', 'tmp_pack_x'), 'x'.repeat(1000))
    const when = new Date(Date.now() - ageMs)
    for (const p of [path.join(dir, 'pack', 'tmp_pack_x'), path.join(dir, 'pack'), dir]) fs.utimesSync(p, when, when)
    return dir
  }
  const host = os.hostname()
  const old = STALE_QUARANTINE_MS + 60_000
  const deadOurs = make(`hubd-incoming-${host}-${DEAD_PID}-0a1b2c`)
  const liveOurs = make(`hubd-incoming-${host}-${process.ppid}-0a1b2c`, old) // alive, however old
  const otherHostFresh = make(`hubd-incoming-other-host-${DEAD_PID}-0a1b2c`)
  const otherHostOld = make(`hubd-incoming-other-host-${DEAD_PID}-0a1b2d`, old)
  const gitKilled = make('tmp_objdir-incoming-Ab12Cd', old)
  const gitLive = make('tmp_objdir-incoming-Ef34Gh')
  // A push still receiving: the folder is old but its pack is being written.
  const gitReceiving = make('tmp_objdir-incoming-Ij56Kl', old)
  fs.writeFileSync(path.join(gitReceiving, 'pack', 'tmp_pack_x'), 'more bytes')

  await store.sweep()
  t.notOk(fs.existsSync(deadOurs), 'ours, of a dead process: removed at once')
  t.notOk(fs.existsSync(otherHostOld), 'ours, of another host, idle past the limit: removed')
  t.notOk(fs.existsSync(gitKilled), "git's, of a killed push (idle past the limit): removed")
  t.ok(fs.existsSync(liveOurs), 'ours, of a live process: kept')
  t.ok(fs.existsSync(otherHostFresh), 'ours, of another host, recently written: kept')
  t.ok(fs.existsSync(gitLive), "git's, recent: kept (a push may be running in another process)")
  t.ok(fs.existsSync(gitReceiving), "git's, still being written to: kept")
  t.ok(fs.existsSync(path.join(objects, 'info')), 'the rest of objects/ is untouched')

  await sweepQuarantines(gitdir, Date.now() + old)
  t.notOk(fs.existsSync(gitLive), 'a quarantine left idle long enough goes too')
  t.ok(fs.existsSync(liveOurs), 'but never one whose process is alive')
})
