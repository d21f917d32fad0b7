import path from 'node:path'
import t, { type Test } from 'tap'
import { DEFAULT_GITATTRIBUTES, LfsAttributes, lfsRuleFor } from '../../storage/formats/gitattributes.js'
import { gitFilterAttr } from '../helpers/git-oracle.js'

const defaults = new LfsAttributes(DEFAULT_GITATTRIBUTES)

t.test('the default .gitattributes (spec Appendix A)', async (t) => {
  for (const p of [
    'model.safetensors',
    'sub/x.bin',
    'pytorch_model.bin',
    'saved_model/a/b',
    'saved_model/variables/variables.data-00000-of-00001',
    'test.lfs.txt',
    'a/b/c.onnx',
    'events.out.tfevents.1700000000.host',
    'data.tar.gz',
    'archive.tar',
    'model.gguf',
    'img/cat.png',
  ]) {
    t.ok(defaults.isLfs(p), `${p} is LFS`)
  }
  for (const p of ['config.json', 'README.md', '.gitattributes', 'tokenizer.json', 'vocab.txt', 'saved_model', 'binary', 'x.bin.txt', 'x/saved_model/a']) {
    t.notOk(defaults.isLfs(p), `${p} is not LFS`)
  }
  const lines = DEFAULT_GITATTRIBUTES.split('\n')
  t.equal(lines.pop(), '', 'ends with a newline')
  for (const l of lines) t.match(l, /^\S+ filter=lfs diff=lfs merge=lfs -text$/)
  t.ok(lines.includes('*.safetensors filter=lfs diff=lfs merge=lfs -text'))
})

t.test('the last matching line wins', async (t) => {
  const a = new LfsAttributes('*.bin filter=lfs diff=lfs merge=lfs -text\nspecial.bin -filter\n')
  t.ok(a.isLfs('model.bin'))
  t.notOk(a.isLfs('special.bin'), '-filter unsets')
  t.notOk(a.isLfs('sub/special.bin'))

  const b = new LfsAttributes('*.bin filter=lfs\n/keep.bin !filter\n*.bin filter=lfs\n')
  t.ok(b.isLfs('keep.bin'), 'a later filter=lfs wins again')

  const c = new LfsAttributes('*.bin filter=lfs\nsub/*.bin filter=other\n')
  t.ok(c.isLfs('x.bin'))
  t.notOk(c.isLfs('sub/x.bin'), 'another filter replaces lfs')

  const d = new LfsAttributes('*.bin -filter\n*.bin filter=lfs\n')
  t.ok(d.isLfs('x.bin'), 'order matters, not specificity')

  const e = new LfsAttributes('*.bin filter=lfs -filter\n')
  t.notOk(e.isLfs('x.bin'), 'within a line, the last attribute wins')

  const f = new LfsAttributes('*.bin filter=lfs\r\nspecial.bin -filter\r\n')
  t.notOk(f.isLfs('special.bin'), 'CRLF line endings')
  t.ok(f.isLfs('x.bin'))
})

t.test('lines git ignores in attributes files', async (t) => {
  const a = new LfsAttributes('# *.bin filter=lfs\n!*.bin filter=lfs\nsub/ filter=lfs\n*.txt diff=lfs\n\n   \n')
  t.notOk(a.isLfs('x.bin'), 'comment and negative pattern')
  t.notOk(a.isLfs('sub/x.txt'), 'a folder pattern does not apply to what is inside')
  t.notOk(a.isLfs('x.txt'), 'diff=lfs alone is not the filter')
  t.notOk(new LfsAttributes('').isLfs('x.bin'))
})

t.test('lfsRuleFor: a rule generated for a path matches exactly that path', async (t) => {
  const paths = [
    'model.weights',
    'my model.weights',
    'sub dir/my  model v2.weights',
    ' leading and trailing ',
    'a[1].w',
    'star*name?.w',
    '!bang.w',
    '#hash.w',
    'quote".w',
    'dir/!x/#y/[z].w',
    'ünïcödé 日本.w',
  ]
  for (const p of paths) {
    const rule = lfsRuleFor(p)
    t.match(rule, / filter=lfs diff=lfs merge=lfs -text$/)
    t.notMatch(rule.replace(/ filter=lfs diff=lfs merge=lfs -text$/, ''), / /, `${JSON.stringify(p)}: no bare space in the pattern`)
    const attrs = new LfsAttributes(`*.txt filter=lfs\n${rule}\n`)
    t.ok(attrs.isLfs(p), `${JSON.stringify(p)} → ${rule}`)
  }
  const attrs = new LfsAttributes(paths.map((p) => lfsRuleFor(p)).join('\n'))
  for (const other of ['modelXweights', 'myXmodel.weights', 'a1.w', 'starXnameX.w', 'bang.w', 'hash.w', 'model.weights.bak', 'x/my model.weights.y']) {
    t.notOk(attrs.isLfs(other), `${other} is not covered by the generated rules`)
  }
  t.ok(new LfsAttributes(lfsRuleFor('sub/x y.w')).isLfs('sub/x y.w'))
  t.notOk(new LfsAttributes(lfsRuleFor('sub/x y.w')).isLfs('other/sub/x y.w'), 'a nested path is anchored')
})

t.test('lfsRuleFor: git itself honours the generated rules', async (t) => {
  const paths = ['my model.weights', 'sub dir/a b.w', 'a[1].w', 'star*name?.w', '!bang.w', '#hash.w']
  const dir = path.join(t.testdir(), 'wt')
  const text = paths.map((p) => `${lfsRuleFor(p)}\n`).join('')
  const git = gitFilterAttr(dir, text, [...paths, 'my_model.weights', 'a1.w'])
  for (const p of paths) t.equal(git.get(p), 'lfs', `git: ${JSON.stringify(p)}`)
  t.equal(git.get('my_model.weights'), 'unspecified')
  t.equal(git.get('a1.w'), 'unspecified')
})

// @NOTE: regression test for a bug: JavaScript's \s also matches non-ASCII spaces (U+00A0, U+3000...),
// which git does not treat as separators and lfsRuleFor does not escape, so the rule split in two.
t.test('lfsRuleFor round-trip for paths with non-ASCII spaces (bug: parsed with JS \\s)', async (t) => {
  for (const p of ['a\u00a0b.w', 'ideo\u3000graphic.w', 'thin\u2009space.w']) {
    t.ok(new LfsAttributes(lfsRuleFor(p)).isLfs(p), JSON.stringify(p))
  }
})

const DIFF_PATTERNS = [
  '*.bin', '/root.bin', 'sub/*.bin', '**/x', 'a/**/b', 'a/**', 'saved_model/**/*', '*.lfs.*', '*tfevents*', '[ab].txt',
  '[!ab].txt', '?.q', '\\*.star', '"q r.qt"', '*.[Tt][Xx][Tt]', 'foo**', '**foo', 'm/*/c', '[a-c]z', '\\#h',
  's[[:space:]]t', 'sub/', '**', 'deep/**/*.pt', 'n\\[1\\].w', 'e\\!x',
]
const DIFF_PATHS = [
  'a.bin', 'sub/a.bin', 'sub/deep/a.bin', 'root.bin', 'z/root.bin', 'x', 'q/x', 'q/r/x', 'a/b', 'a/c/b', 'a/c/d/b', 'ab',
  'a/q', 'a/q/r', 'saved_model/a', 'saved_model/a/b', 'saved_model', 'q/saved_model/a', 'test.lfs.txt', 'r/t.lfs.x',
  'events.out.tfevents.1', 'a.txt', 'c.txt', 'b.txt', 'ab.txt', '1.q', '12.q', '*.star', 'a.star', 'q r.qt', 'r.TXT',
  'R.tXt', 'foobar', 'foo/bar', 'xfoo', 'q/xfoo', 'm/z/c', 'm/z/y/c', 'az', 'dz', '#h', 's t', 's\tt', 'sub', 'sub/f',
  'deep/pt.pt', 'deep/q/r.pt', 'n[1].w', 'n1.w', 'e!x', 'x y.sp', 'd5', 'dx',
]

function agreesWithGit(t: Test, patterns: string[], paths: string[]) {
  const dir = path.join(t.testdir(), 'wt')
  for (const pattern of patterns) {
    const text = `${pattern} filter=lfs\n`
    const git = gitFilterAttr(dir, text, paths)
    const ours = new LfsAttributes(text)
    const disagree = paths.filter((p) => (git.get(p) === 'lfs') !== ours.isLfs(p))
    t.same(disagree, [], `pattern ${pattern}`)
  }
}

t.test('matches git check-attr on a set of patterns and paths', async (t) => {
  agreesWithGit(t, DIFF_PATTERNS, DIFF_PATHS)
})

// @NOTE: two divergences from git (reported): git splits an unquoted pattern at the first blank (no
// backslash escape in attributes files), and supports POSIX classes other than [:space:].
t.test('matches git check-attr on escaped spaces and POSIX classes (bug: divergences)', async (t) => {
  agreesWithGit(t, ['x\\ y.sp', 'd[[:digit:]]', '[[:alpha:]]z'], DIFF_PATHS)
})
