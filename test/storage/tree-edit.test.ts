import { spawnSync } from 'node:child_process'
import path from 'node:path'
import t, { type Test } from 'tap'
import { GitRepo } from '../../storage/git/git-repo.js'
import { casRef } from '../../storage/git/ref-cas.js'
import { TreeEditError, TreeEditor, type TreeOp } from '../../storage/git/tree-edit.js'
import { git, GIT_ENV } from '../helpers/git-oracle.js'

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904'
const author = { name: 'test', email: 'test@example.org' }

/** GitRepo that records which trees were read. */
class CountingRepo extends GitRepo {
  reads: string[] = []
  override async readTree(oid: string) {
    this.reads.push(oid)
    return super.readTree(oid)
  }
}

async function newRepo(t: Test): Promise<CountingRepo> {
  const gitdir = path.join(t.testdir(), 'repo.git')
  await GitRepo.init(gitdir, 'main')
  return new CountingRepo(gitdir)
}

/** What `git ls-tree -r -t` (files and folders) says a tree holds: path → "mode type oid". */
function lsTree(gitdir: string, tree: string): Map<string, string> {
  const out = git(['--git-dir', gitdir, 'ls-tree', '-r', '-t', '-z', tree])
  const m = new Map<string, string>()
  for (const rec of out.split('\0').filter(Boolean)) {
    const tab = rec.indexOf('\t')
    m.set(rec.slice(tab + 1), rec.slice(0, tab))
  }
  return m
}

/** Just the files of a tree: path → blob oid. */
function files(gitdir: string, tree: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [p, info] of lsTree(gitdir, tree)) {
    const [, type, oid] = info.split(' ')
    if (type === 'blob') out[p] = oid!
  }
  return out
}

/** Commits `tree` on main (so everything is reachable) and runs `git fsck --strict`. */
async function fsck(t: Test, repo: GitRepo, tree: string) {
  const head = await repo.readRef('refs/heads/main')
  const commit = await repo.writeCommit({ tree, parents: head ? [head] : [], message: 'check', author })
  await casRef(repo.gitdir, 'refs/heads/main', head, commit)
  const r = spawnSync('git', ['--git-dir', repo.gitdir, 'fsck', '--full', '--strict', '--no-dangling'], { env: GIT_ENV, encoding: 'utf8' })
  t.equal(r.status, 0, 'git fsck --strict passes')
  t.equal(`${r.stdout}${r.stderr}`.trim(), '', 'git fsck reports nothing')
}

async function edit(repo: GitRepo, base: string | null, ops: TreeOp[]): Promise<string> {
  const editor = new TreeEditor(repo, base)
  for (const op of ops) await editor.apply(op)
  return editor.write()
}

async function errorOf(p: Promise<unknown>): Promise<TreeEditError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(err instanceof TreeEditError)) throw new Error(`expected a TreeEditError, got ${String(err)}`)
  return err
}

/** A repo with a base tree: a.txt, dir/b.txt, dir/sub/c.txt, other/d.txt. */
async function fixture(t: Test) {
  const repo = await newRepo(t)
  const blob = async (s: string) => repo.writeBlob(Buffer.from(s))
  const oids = { a: await blob('a\n'), b: await blob('b\n'), c: await blob('c\n'), d: await blob('d\n'), x: await blob('x\n') }
  const base = await edit(repo, null, [
    { kind: 'put', path: 'a.txt', oid: oids.a },
    { kind: 'put', path: 'dir/b.txt', oid: oids.b },
    { kind: 'put', path: 'dir/sub/c.txt', oid: oids.c },
    { kind: 'put', path: 'other/d.txt', oid: oids.d },
  ])
  repo.reads = []
  return { repo, base, oids }
}

t.test('put nested files into an empty tree', async (t) => {
  const repo = await newRepo(t)
  const content: Record<string, string> = {
    'README.md': '# hi\n',
    'dir/b.txt': 'b\n',
    'dir/sub/c.txt': 'c\n',
    'dir/sub dir/ü ñ.txt': 'unicode\n',
    'deep/1/2/3/4/5.bin': 'deep\n',
  }
  const ops: TreeOp[] = []
  const expected: Record<string, string> = {}
  for (const [p, text] of Object.entries(content)) {
    const oid = await repo.writeBlob(Buffer.from(text))
    ops.push({ kind: 'put', path: p, oid })
    expected[p] = oid
  }
  const tree = await edit(repo, null, ops)
  t.same(files(repo.gitdir, tree), expected)
  const listing = lsTree(repo.gitdir, tree)
  t.match(listing.get('dir'), /^040000 tree /, 'folders are trees')
  t.match(listing.get('deep/1/2/3/4'), /^040000 tree /)
  for (const [p, text] of Object.entries(content)) {
    t.equal(git(['--git-dir', repo.gitdir, 'cat-file', 'blob', `${tree}:${p}`]), text, `content of ${p}`)
  }
  t.equal((await repo.entryAt(tree, 'dir/sub/c.txt'))?.oid, expected['dir/sub/c.txt'], 'GitRepo.entryAt agrees')
  await fsck(t, repo, tree)
})

t.test('names git sorts specially (a folder sorts as "name/")', async (t) => {
  const repo = await newRepo(t)
  const oid = await repo.writeBlob(Buffer.from('x'))
  const names = ['a', 'a.txt', 'a-b', 'a0', 'a/x', 'b/c', 'b.c', 'b-c', 'B', '_', 'é']
  const tree = await edit(repo, null, names.map((p) => ({ kind: 'put', path: p.replace(/^a$/, 'a/y'), oid }) as TreeOp))
  t.equal(Object.keys(files(repo.gitdir, tree)).length, names.length)
  await fsck(t, repo, tree)
})

t.test('modes', async (t) => {
  const repo = await newRepo(t)
  const oid = await repo.writeBlob(Buffer.from('#!/bin/sh\n'))
  const tree = await edit(repo, null, [
    { kind: 'put', path: 'run.sh', oid, mode: '100755' },
    { kind: 'put', path: 'plain.sh', oid },
  ])
  const listing = lsTree(repo.gitdir, tree)
  t.match(listing.get('run.sh'), /^100755 blob /)
  t.match(listing.get('plain.sh'), /^100644 blob /, 'regular files by default')
  await fsck(t, repo, tree)
})

t.test('replace a file; untouched folders are shared, not reread', async (t) => {
  const { repo, base, oids } = await fixture(t)
  const before = lsTree(repo.gitdir, base)
  const tree = await edit(repo, base, [{ kind: 'put', path: 'dir/b.txt', oid: oids.x }])
  const after = lsTree(repo.gitdir, tree)
  t.same(files(repo.gitdir, tree), { 'a.txt': oids.a, 'dir/b.txt': oids.x, 'dir/sub/c.txt': oids.c, 'other/d.txt': oids.d })
  t.equal(after.get('dir/sub'), before.get('dir/sub'), 'dir/sub keeps its tree id')
  t.equal(after.get('other'), before.get('other'), 'other keeps its tree id')
  t.not(after.get('dir'), before.get('dir'), 'dir changed')
  t.equal(repo.reads.length, 2, 'read the root and dir only')
  await fsck(t, repo, tree)

  const same = await edit(repo, base, [{ kind: 'put', path: 'dir/sub/c.txt', oid: oids.c }])
  t.equal(same, base, 'putting the same content gives the same tree')
})

t.test('delete a file', async (t) => {
  const { repo, base, oids } = await fixture(t)
  const tree = await edit(repo, base, [{ kind: 'delete', path: 'dir/sub/c.txt', mustExist: true }])
  t.same(files(repo.gitdir, tree), { 'a.txt': oids.a, 'dir/b.txt': oids.b, 'other/d.txt': oids.d })
  t.notOk(lsTree(repo.gitdir, tree).has('dir/sub'), 'the emptied folder vanished')
  await fsck(t, repo, tree)
})

t.test('delete a folder with everything below it', async (t) => {
  const { repo, base, oids } = await fixture(t)
  const tree = await edit(repo, base, [{ kind: 'delete', path: 'dir', mustExist: true }])
  t.same(files(repo.gitdir, tree), { 'a.txt': oids.a, 'other/d.txt': oids.d })
  t.same([...lsTree(repo.gitdir, tree).keys()].filter((p) => p.startsWith('dir')), [])
  await fsck(t, repo, tree)

  const nested = await edit(repo, base, [{ kind: 'delete', path: 'dir/sub', mustExist: true }])
  t.same(files(repo.gitdir, nested), { 'a.txt': oids.a, 'dir/b.txt': oids.b, 'other/d.txt': oids.d })
})

t.test('delete of a missing path', async (t) => {
  const { repo, base } = await fixture(t)
  for (const p of ['nope.txt', 'dir/nope.txt', 'nodir/x.txt', 'a.txt/x', 'dir/sub/c.txt/deeper']) {
    const err = await errorOf(edit(repo, base, [{ kind: 'delete', path: p, mustExist: true }]))
    t.equal(err.kind, 'missing', p)
    t.equal(err.path, p)
    t.equal(err.name, 'TreeEditError')
    t.match(err.message, /A file with this name doesn't exist/, 'the Hub wording py looks for')
    t.equal(await edit(repo, base, [{ kind: 'delete', path: p, mustExist: false }]), base, `${p}: without mustExist a no-op`)
  }
  const twice = await errorOf(
    edit(repo, base, [
      { kind: 'delete', path: 'a.txt', mustExist: true },
      { kind: 'delete', path: 'a.txt', mustExist: true },
    ]),
  )
  t.equal(twice.kind, 'missing', 'deleted earlier in the same edit')
})

t.test('put under a file, or over a folder → conflict', async (t) => {
  const { repo, base, oids } = await fixture(t)
  const under = await errorOf(edit(repo, base, [{ kind: 'put', path: 'a.txt/x.txt', oid: oids.x }]))
  t.equal(under.kind, 'conflict')
  t.equal(under.path, 'a.txt/x.txt')
  const deeper = await errorOf(edit(repo, base, [{ kind: 'put', path: 'dir/b.txt/y/z', oid: oids.x }]))
  t.equal(deeper.kind, 'conflict')
  const over = await errorOf(edit(repo, base, [{ kind: 'put', path: 'dir', oid: oids.x }]))
  t.equal(over.kind, 'conflict', 'a file where a folder is')
  const sameEdit = await errorOf(
    edit(repo, null, [
      { kind: 'put', path: 'f', oid: oids.x },
      { kind: 'put', path: 'f/g', oid: oids.x },
    ]),
  )
  t.equal(sameEdit.kind, 'conflict', 'a file written earlier in the same edit')
  const newFolder = await errorOf(
    edit(repo, null, [
      { kind: 'put', path: 'f/g', oid: oids.x },
      { kind: 'put', path: 'f', oid: oids.x },
    ]),
  )
  t.equal(newFolder.kind, 'conflict', 'a folder created earlier in the same edit')
})

t.test('operations apply in order', async (t) => {
  const { repo, base, oids } = await fixture(t)
  const replaced = await edit(repo, base, [
    { kind: 'delete', path: 'dir', mustExist: true },
    { kind: 'put', path: 'dir/new.txt', oid: oids.x },
  ])
  t.same(files(repo.gitdir, replaced), { 'a.txt': oids.a, 'dir/new.txt': oids.x, 'other/d.txt': oids.d }, 'py replaces a folder by delete then add')
  await fsck(t, repo, replaced)

  const fileToFolder = await edit(repo, base, [
    { kind: 'delete', path: 'a.txt', mustExist: true },
    { kind: 'put', path: 'a.txt/inside', oid: oids.x },
  ])
  t.equal(files(repo.gitdir, fileToFolder)['a.txt/inside'], oids.x, 'a file replaced by a folder')
  await fsck(t, repo, fileToFolder)

  const putThenDelete = await edit(repo, base, [
    { kind: 'put', path: 'tmp/x', oid: oids.x },
    { kind: 'delete', path: 'tmp/x', mustExist: true },
  ])
  t.equal(putThenDelete, base, 'added then removed: the base tree again')
})

t.test('empty folders vanish', async (t) => {
  const repo = await newRepo(t)
  const oid = await repo.writeBlob(Buffer.from('only'))
  const base = await edit(repo, null, [
    { kind: 'put', path: 'keep.txt', oid },
    { kind: 'put', path: 'deep/er/only.txt', oid },
  ])
  const tree = await edit(repo, base, [{ kind: 'delete', path: 'deep/er/only.txt', mustExist: true }])
  t.same([...lsTree(repo.gitdir, tree).keys()], ['keep.txt'], 'deep and deep/er are gone')

  const emptied = await edit(repo, base, [
    { kind: 'delete', path: 'keep.txt', mustExist: true },
    { kind: 'delete', path: 'deep', mustExist: true },
  ])
  t.equal(emptied, EMPTY_TREE, 'deleting everything gives the empty tree')
  t.equal(await edit(repo, null, []), EMPTY_TREE, 'no operations on nothing')
  await fsck(t, repo, emptied)
})
