// The database version stamp every request checks (storage/db/data-version.ts): it must change
// after every commit from any connection or process, and stay put (without asking SQLite's
// data_version) while nothing commits.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { dataVersionOf } from '../../storage/db/data-version.js'
import { closeDb, openDb } from '../../storage/db/open.js'
import { projectRoot } from '../../server/project-root.js'

const migrations = path.join(projectRoot(), 'migrations')
const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3')

function wal(file: string): Database.Database {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 5000')
  return db
}

t.test('changes with every commit, from any connection or process; stays put otherwise', async (t) => {
  const file = path.join(t.testdir(), 'v.sqlite')
  const a = openDb(file, migrations)
  t.teardown(() => closeDb(a))
  a.exec('CREATE TABLE IF NOT EXISTS scratch (n INTEGER)')
  const b = wal(file)
  t.teardown(() => b.close())
  const v = dataVersionOf(a)
  t.equal(dataVersionOf(a), v, 'one per database')

  let last = v.current()
  const asked = v.asked
  for (let i = 0; i < 50; i++) t.equal(v.current(), last)
  t.equal(v.asked, asked, 'no data_version asked while nothing commits')

  for (let i = 0; i < 200; i++) {
    const writer = i % 3 === 0 ? a : b
    writer.prepare('INSERT INTO scratch (n) VALUES (?)').run(i)
    const now = v.current()
    if (now === last) t.fail(`commit ${i} by ${writer === a ? 'this' : 'another'} connection not seen`)
    last = now
    t.equal(v.current(), last, 'and stable again')
  }
  t.pass('200 commits, each seen')

  // A read-only transaction elsewhere is not a change.
  b.prepare('SELECT count(*) FROM scratch').get()
  t.equal(v.current(), last)

  // The WAL restarted from its start (after a full checkpoint) and written again.
  b.pragma('wal_checkpoint(TRUNCATE)')
  const afterCheckpoint = v.current()
  b.prepare('INSERT INTO scratch (n) VALUES (1)').run()
  t.not(v.current(), afterCheckpoint, 'a commit after the WAL restarted')
  last = v.current()

  // Another process.
  const script = `const D = require(${JSON.stringify(sqliteModule)}); const d = new D(${JSON.stringify(file)}); d.pragma('busy_timeout = 5000'); d.prepare('INSERT INTO scratch (n) VALUES (7)').run(); d.close()`
  execFileSync(process.execPath, ['-e', script])
  t.not(v.current(), last, "another process's commit")
})

t.test('without a -shm file (rollback journal, in memory) every call asks data_version', async (t) => {
  const file = path.join(t.testdir(), 'd.sqlite')
  const a = new Database(file)
  a.pragma('journal_mode = DELETE')
  a.exec('CREATE TABLE scratch (n INTEGER)')
  const b = new Database(file)
  t.teardown(() => {
    closeDb(a)
    b.close()
  })
  const v = dataVersionOf(a)
  const before = v.current()
  b.prepare('INSERT INTO scratch (n) VALUES (1)').run()
  t.not(v.current(), before, 'another connection in rollback-journal mode')
  const m = new Database(':memory:')
  t.teardown(() => closeDb(m))
  const mv = dataVersionOf(m)
  const m0 = mv.current()
  m.exec('CREATE TABLE x (n INTEGER); INSERT INTO x VALUES (1)')
  t.not(mv.current(), m0, 'in memory: own commits')
})
