import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { casRef, lockIsStale, sweepRefLocks } from '../../storage/git/ref-cas.js'

const ONE = '1'.repeat(40)

/** A pid that is certainly not running (pid_max is at most 2^22 on Linux). */
const DEAD_PID = 4_194_304 + 17

t.test('locks left by a killed hubd are swept at start; live and foreign ones stay', async (t) => {
  const gitdir = t.testdir({ refs: { heads: {}, tags: {} } })
  const lock = (name: string, content: string) => {
    const p = path.join(gitdir, 'refs', 'heads', `${name}.lock`)
    fs.writeFileSync(p, content)
    return p
  }
  const dead = lock('dead', `hubd-lock ${os.hostname()} ${DEAD_PID}\n`)
  const live = lock('live', `hubd-lock ${os.hostname()} ${process.ppid}\n`)
  const otherHost = lock('other', `hubd-lock some-other-host ${DEAD_PID}\n`)
  const gits = lock('git', `${ONE}\n`) // git's own lock: no owner, fresh
  const old = lock('old', `${ONE}\n`)
  const past = new Date(Date.now() - 60_000)
  fs.utimesSync(old, past, past)

  t.equal(await lockIsStale(dead), true)
  t.equal(await lockIsStale(live), false)
  await sweepRefLocks(gitdir)
  t.notOk(fs.existsSync(dead), 'a dead hubd process’s lock is removed at once')
  t.notOk(fs.existsSync(old), 'any lock older than the stale limit is removed')
  t.ok(fs.existsSync(live), 'a live process’s lock stays')
  t.ok(fs.existsSync(otherHost), 'another host’s fresh lock stays (shared storage)')
  t.ok(fs.existsSync(gits), 'a fresh lock of git’s own stays')

  // A writer blocked by a dead owner's lock gets through without waiting for the stale limit.
  lock('main', `hubd-lock ${os.hostname()} ${DEAD_PID}\n`)
  const started = Date.now()
  await casRef(gitdir, 'refs/heads/main', null, ONE)
  t.ok(Date.now() - started < 2000, 'no wait for a dead owner')
  t.equal(fs.readFileSync(path.join(gitdir, 'refs/heads/main'), 'utf8'), `${ONE}\n`, 'the ref holds exactly the new value')
})
