import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { GitRepo } from '../../storage/git/git-repo.js'
import { casRef, readRef, RefConflictError } from '../../storage/git/ref-cas.js'
import { git } from '../helpers/git-oracle.js'

const author = { name: 'test', email: 'test@example.org' }

/** A bare repo with an empty tree and `n` unrelated root commits to point refs at. */
async function setup(t: Test, n = 3) {
  const gitdir = path.join(t.testdir(), 'repo.git')
  const repo = await GitRepo.init(gitdir, 'main')
  const tree = await repo.writeTree([])
  const commits: string[] = []
  for (let i = 0; i < n; i++) commits.push(await repo.writeCommit({ tree, parents: [], message: `c${i}`, author }))
  return { gitdir, repo, tree, commits }
}

const MAIN = 'refs/heads/main'

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  )
}

t.test('create with expected null, then update', async (t) => {
  const { gitdir, repo, commits } = await setup(t)
  const [a, b] = commits as [string, string]
  t.equal(await readRef(gitdir, MAIN), null)
  await casRef(gitdir, MAIN, null, a)
  t.equal(await readRef(gitdir, MAIN), a)
  t.equal(await repo.readRef(MAIN), a, 'GitRepo.readRef agrees')
  t.equal(fs.readFileSync(path.join(gitdir, MAIN), 'utf8'), `${a}\n`, 'loose ref file as git writes it')
  await casRef(gitdir, MAIN, a, b)
  t.equal(await readRef(gitdir, MAIN), b)
  t.notOk(fs.existsSync(path.join(gitdir, `${MAIN}.lock`)), 'no lock left behind')
  t.equal(git(['--git-dir', gitdir, 'rev-parse', 'main']).trim(), b, 'git sees the update')
  t.equal((await repo.resolve('main', 'main'))?.commit, b)

  await casRef(gitdir, 'refs/heads/feature/deep/x', null, a)
  t.equal(await readRef(gitdir, 'refs/heads/feature/deep/x'), a, 'nested ref folders are created')
})

t.test('conflict on a wrong expected value', async (t) => {
  const { gitdir, commits } = await setup(t)
  const [a, b, c] = commits as [string, string, string]
  await casRef(gitdir, MAIN, null, a)

  const err = await rejectionOf(casRef(gitdir, MAIN, b, c))
  t.type(err, RefConflictError)
  t.equal((err as RefConflictError).name, 'RefConflictError')
  t.equal((err as RefConflictError).ref, MAIN)
  t.equal((err as RefConflictError).actual, a, 'reports what the ref really holds')
  t.equal(await readRef(gitdir, MAIN), a, 'ref unchanged')

  const create = await rejectionOf(casRef(gitdir, MAIN, null, c))
  t.type(create, RefConflictError, 'creating an existing ref')
  t.equal(await readRef(gitdir, MAIN), a)

  const missing = await rejectionOf(casRef(gitdir, 'refs/heads/nope', a, c))
  t.type(missing, RefConflictError, 'updating a missing ref')
  t.equal((missing as RefConflictError).actual, null)
  t.equal(await readRef(gitdir, 'refs/heads/nope'), null)
  t.notOk(fs.existsSync(path.join(gitdir, `${MAIN}.lock`)), 'lock released after a conflict')
  t.notOk(fs.existsSync(path.join(gitdir, 'refs/heads/nope.lock')))

  await casRef(gitdir, MAIN, a, b)
  t.equal(await readRef(gitdir, MAIN), b, 'a correct update still works afterwards')
})

t.test('bad ref names are refused', async (t) => {
  const { gitdir, commits } = await setup(t, 1)
  for (const ref of ['main', 'HEAD', 'refs/heads/../../config', 'refs/heads//x', 'refs/heads/./x', 'refs/', 'refs/heads/x\u0000']) {
    t.ok(await rejectionOf(casRef(gitdir, ref, null, commits[0]!)), JSON.stringify(ref))
  }
  t.equal(fs.readFileSync(path.join(gitdir, 'config'), 'utf8').includes(commits[0]!), false, 'config untouched')
})

t.test('a stale lock (older than 10 s) is broken', async (t) => {
  const { gitdir, commits } = await setup(t)
  const [a, b] = commits as [string, string]
  await casRef(gitdir, MAIN, null, a)
  const lock = path.join(gitdir, `${MAIN}.lock`)
  fs.writeFileSync(lock, 'left by a crashed writer\n')
  const old = new Date(Date.now() - 11_000)
  fs.utimesSync(lock, old, old)
  const started = Date.now()
  await casRef(gitdir, MAIN, a, b)
  t.ok(Date.now() - started < 1000, 'without waiting for the lock timeout')
  t.equal(await readRef(gitdir, MAIN), b)
  t.notOk(fs.existsSync(lock))
})

t.test('a fresh lock makes the writer wait, then give up with a conflict', async (t) => {
  const { gitdir, commits } = await setup(t)
  const [a, b] = commits as [string, string]
  await casRef(gitdir, MAIN, null, a)
  const lock = path.join(gitdir, `${MAIN}.lock`)
  fs.writeFileSync(lock, '')
  const started = Date.now()
  const err = await rejectionOf(casRef(gitdir, MAIN, a, b))
  const waited = Date.now() - started
  t.type(err, RefConflictError)
  t.ok(waited >= 4000, `waited ${waited} ms`)
  t.ok(waited < 9000, 'gave up well before the lock could turn stale')
  t.equal(await readRef(gitdir, MAIN), a, 'ref unchanged')
  t.ok(fs.existsSync(lock), "someone else's lock is left alone")
})

t.test('a lock released during the wait lets the writer through', async (t) => {
  const { gitdir, commits } = await setup(t)
  const [a, b] = commits as [string, string]
  await casRef(gitdir, MAIN, null, a)
  const lock = path.join(gitdir, `${MAIN}.lock`)
  fs.writeFileSync(lock, '')
  setTimeout(() => fs.rmSync(lock), 300)
  const started = Date.now()
  await casRef(gitdir, MAIN, a, b)
  t.ok(Date.now() - started >= 250, 'waited for the lock')
  t.equal(await readRef(gitdir, MAIN), b)
})

t.test('2 concurrent writers × 50 increments: every update counted', async (t) => {
  const { gitdir, repo, tree } = await setup(t, 0)
  const root = await repo.writeCommit({ tree, parents: [], message: 'root', author })
  await casRef(gitdir, MAIN, null, root)
  let conflicts = 0

  async function writer(name: string) {
    for (let i = 0; i < 50; i++) {
      for (;;) {
        const head = await readRef(gitdir, MAIN)
        const next = await repo.writeCommit({ tree, parents: head ? [head] : [], message: `${name}-${i}`, author })
        try {
          await casRef(gitdir, MAIN, head, next)
          break
        } catch (err) {
          if (!(err instanceof RefConflictError)) throw err
          conflicts++
        }
      }
    }
  }
  await Promise.all([writer('a'), writer('b')])

  const messages: string[] = []
  for (let oid: string | undefined = (await readRef(gitdir, MAIN))!; oid; ) {
    const c = await repo.readCommit(oid)
    messages.push(c.message.trim())
    oid = c.parents[0]
  }
  t.equal(messages.length, 101, 'a chain of 100 commits on top of the root')
  t.equal(messages.pop(), 'root')
  t.equal(new Set(messages).size, 100, 'each increment once')
  for (const w of ['a', 'b']) {
    const mine = messages.filter((m) => m.startsWith(`${w}-`)).reverse()
    t.same(mine, Array.from({ length: 50 }, (_, i) => `${w}-${i}`), `writer ${w}'s updates in order`)
  }
  t.comment(`${conflicts} conflicts retried`)
  t.equal(git(['--git-dir', gitdir, 'rev-list', '--count', 'main']).trim(), '101', 'git agrees')
})

t.test('readRef reads packed-refs', async (t) => {
  const { gitdir, repo, commits } = await setup(t)
  const [a, b, c] = commits as [string, string, string]
  await casRef(gitdir, MAIN, null, a)
  await casRef(gitdir, 'refs/heads/dev', null, b)
  await casRef(gitdir, 'refs/pr/1', null, c)
  git(['--git-dir', gitdir, 'tag', '-a', '-m', 'release', 'v1', b])
  const tagObject = git(['--git-dir', gitdir, 'rev-parse', 'refs/tags/v1']).trim()
  git(['--git-dir', gitdir, 'pack-refs', '--all', '--prune'])
  t.notOk(fs.existsSync(path.join(gitdir, MAIN)), 'git moved the loose refs into packed-refs')
  t.match(fs.readFileSync(path.join(gitdir, 'packed-refs'), 'utf8'), /^\^/m, 'with a peeled line for the tag')

  t.equal(await readRef(gitdir, MAIN), a)
  t.equal(await readRef(gitdir, 'refs/heads/dev'), b)
  t.equal(await readRef(gitdir, 'refs/pr/1'), c)
  t.equal(await readRef(gitdir, 'refs/tags/v1'), tagObject, 'the tag object, not peeled')
  t.equal(await readRef(gitdir, 'refs/heads/ma'), null, 'no prefix match')
  t.equal(await readRef(gitdir, 'refs/heads/other'), null)
  t.equal((await repo.resolve('v1', 'main'))?.commit, b, 'resolve peels the packed tag')

  // A CAS against the packed value writes a loose ref, which then wins over packed-refs.
  await casRef(gitdir, MAIN, a, c)
  t.equal(await readRef(gitdir, MAIN), c)
  t.equal(git(['--git-dir', gitdir, 'rev-parse', 'main']).trim(), c)
  t.type(await rejectionOf(casRef(gitdir, 'refs/heads/dev', a, c)), RefConflictError, 'packed value is checked too')
  t.equal(await readRef(gitdir, 'refs/heads/dev'), b)
})

t.test('readRef with a hand-written packed-refs', async (t) => {
  const gitdir = t.testdir({
    'packed-refs': [
      '# pack-refs with: peeled fully-peeled sorted ',
      `${'1'.repeat(40)} refs/heads/main`,
      `${'2'.repeat(40)} refs/heads/x/refs/heads/main`,
      `${'3'.repeat(40)} refs/tags/v1`,
      `^${'4'.repeat(40)}`,
      '',
    ].join('\n'),
    refs: { heads: { loose: `${'5'.repeat(40)}\n`, garbage: 'not an id\n' } },
  })
  t.equal(await readRef(gitdir, 'refs/heads/main'), '1'.repeat(40))
  t.equal(await readRef(gitdir, 'refs/tags/v1'), '3'.repeat(40))
  t.equal(await readRef(gitdir, 'refs/heads/loose'), '5'.repeat(40))
  t.equal(await readRef(gitdir, 'refs/heads/garbage'), null)
  t.equal(await readRef(t.testdir({}), 'refs/heads/main'), null, 'no packed-refs at all')
})

// @NOTE: regression test for a bug: reading `refs/heads/dev` when a branch `dev/x` exists reads a
// folder and threw EISDIR (a 500 from /tree/dev or any revision lookup) instead of "no such ref".
t.test('readRef of a name that is a folder of refs is null (bug: EISDIR thrown)', async (t) => {
  const { gitdir, repo, commits } = await setup(t, 1)
  await casRef(gitdir, 'refs/heads/dev/x', null, commits[0]!)
  t.equal(await rejectionOf(readRef(gitdir, 'refs/heads/dev')), null, 'does not throw')
  t.equal(await readRef(gitdir, 'refs/heads/dev').catch(() => 'threw'), null)
  t.equal(await repo.resolve('dev', 'main').catch(() => 'threw'), null, 'resolve("dev") is simply not found')
  t.equal((await repo.resolve('dev/x', 'main'))?.commit, commits[0])
})

// @NOTE: hardening: readRef joins the name onto the gitdir unchecked, so a name from a URL
// (revisionAndPath → isRef) could probe files of other repositories.
t.test('readRef does not read outside the gitdir', async (t) => {
  const root = t.testdir()
  const mine = await GitRepo.init(path.join(root, 'aa', 'mine.git'), 'main')
  const other = await GitRepo.init(path.join(root, 'bb', 'other.git'), 'main')
  const commit = await other.writeCommit({ tree: await other.writeTree([]), parents: [], message: 'secret', author })
  await casRef(other.gitdir, MAIN, null, commit)
  const probe = await readRef(mine.gitdir, 'refs/heads/../../../../bb/other.git/refs/heads/main').catch(() => null)
  t.not(probe, commit, "another repository's ref is not readable")
})
