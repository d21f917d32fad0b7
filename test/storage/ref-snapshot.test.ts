/**
 * RefSnapshot reads refs as git does (loose first, then packed-refs) with fewer syscalls: every
 * answer must match a plain read, and a new snapshot sees every change made since.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { readRef } from '../../storage/git/ref-cas.js'
import { RefSnapshot, RefValues } from '../../storage/git/ref-snapshot.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const C = 'c'.repeat(40)

t.test('same answers as a plain read; fresh per snapshot', async (t) => {
  const gitdir = t.testdir({ refs: { heads: {}, tags: {} } })
  const write = (ref: string, v: string) => {
    fs.mkdirSync(path.dirname(path.join(gitdir, ref)), { recursive: true })
    const tmp = path.join(gitdir, `${ref}.lock`)
    fs.writeFileSync(tmp, `${v}\n`)
    fs.renameSync(tmp, path.join(gitdir, ref))
  }
  const values = new RefValues()
  const names = [
    'refs/heads/main', 'refs/heads/main/d42', 'refs/heads/main/d42/f.txt', 'refs/tags/main', 'refs/tags/main/d42',
    'refs/heads/dev', 'refs/heads/dev/x', 'refs/heads/dev/x/y', 'refs/tags/v1', 'refs/heads/packed', 'refs/heads/gone',
    'refs/heads/../../x', 'refs/heads//main', 'refs/heads/./main', 'HEAD', 'refs/heads/main\0',
  ]
  const check = async (what: string) => {
    const snap = new RefSnapshot(gitdir, values)
    for (const n of names) t.equal(snap.read(n), await readRef(gitdir, n), `${what}: ${JSON.stringify(n)}`)
  }
  write('refs/heads/main', A)
  write('refs/heads/dev/x', B) // `dev` is a folder of refs
  write('refs/tags/main/d42', C) // a tag with a slash beside the branch `main`
  await check('loose')
  fs.writeFileSync(path.join(gitdir, 'packed-refs'), `# pack-refs with: peeled fully-peeled sorted\n${C} refs/heads/packed\n${B} refs/tags/v1\n^${A}\n${B} refs/heads/main\n`)
  await check('packed, loose wins')
  write('refs/heads/main', B)
  await check('a loose ref moved')
  t.equal(new RefSnapshot(gitdir, values).read('refs/heads/main'), B, 'the move is seen')
  fs.rmSync(path.join(gitdir, 'refs/heads/main'))
  await check('a loose ref deleted: the packed one shows')
  fs.writeFileSync(path.join(gitdir, 'packed-refs'), `${A} refs/heads/packed\n`)
  await check('packed-refs rewritten')
  fs.rmSync(path.join(gitdir, 'packed-refs'))
  await check('packed-refs gone')
  fs.writeFileSync(path.join(gitdir, 'refs/heads/gone'), 'ref: refs/heads/main\n')
  await check('a symbolic ref is not a target')
})

t.test('one snapshot looks at each file once', async (t) => {
  const gitdir = t.testdir({ refs: { heads: { main: `${A}\n` }, tags: {} } })
  const values = new RefValues()
  t.equal(new RefSnapshot(gitdir, values).read('refs/heads/main'), A)
  const snap = new RefSnapshot(gitdir, values)
  t.equal(snap.read('refs/heads/main/d42/f0042.txt'), null)
  fs.rmSync(path.join(gitdir, 'refs/heads/main'))
  t.equal(snap.read('refs/heads/main'), A, 'what the snapshot saw (its stat of `main` is reused)')
  t.equal(new RefSnapshot(gitdir, values).read('refs/heads/main'), null, 'a new snapshot sees the deletion')
})
