import path from 'node:path'
import t from 'tap'
import { GitIgnore } from '../../storage/formats/gitignore.js'
import { gitIgnoredFiles } from '../helpers/git-oracle.js'

t.test('no rules ignore nothing', async (t) => {
  t.notOk(new GitIgnore('').ignores('a.txt'))
  t.notOk(new GitIgnore('# only a comment\n\n').ignores('a.txt'))
})

t.test('negation: a later !rule re-includes', async (t) => {
  const g = new GitIgnore('*.log\n!important.log\n')
  t.ok(g.ignores('debug.log'))
  t.ok(g.ignores('sub/debug.log'))
  t.notOk(g.ignores('important.log'))
  t.notOk(g.ignores('sub/important.log'))
  t.notOk(g.ignores('a.txt'))

  const later = new GitIgnore('!important.log\n*.log\n')
  t.ok(later.ignores('important.log'), 'order matters: the last matching rule wins')

  const escaped = new GitIgnore('\\!bang\n')
  t.ok(escaped.ignores('!bang'), '"\\!" is a literal "!"')
  t.notOk(escaped.ignores('bang'))
})

t.test('dir-only patterns', async (t) => {
  const g = new GitIgnore('build/\n')
  t.ok(g.ignores('build/x.o'), 'a file inside the folder')
  t.ok(g.ignores('src/build/deep/y.o'), 'at any depth')
  t.notOk(g.ignores('build'), 'a file named like the folder is kept')
  t.notOk(g.ignores('docs/build'))
  t.notOk(g.ignores('build.md'))

  const anchored = new GitIgnore('/build/\n')
  t.ok(anchored.ignores('build/x.o'))
  t.notOk(anchored.ignores('src/build/x.o'), 'anchored at the root')
})

t.test('an ignored parent folder hides everything below it, even negated files', async (t) => {
  const g = new GitIgnore('logs/\n!logs/keep.txt\n')
  t.ok(g.ignores('logs/today/a.txt'))
  t.ok(g.ignores('logs/keep.txt'), 'git cannot re-include a file whose parent folder is excluded')

  const star = new GitIgnore('logs/*\n!logs/keep.txt\n')
  t.ok(star.ignores('logs/a.txt'))
  t.notOk(star.ignores('logs/keep.txt'), 'the folder itself is not excluded, only its children')
  t.ok(star.ignores('logs/today/a.txt'), 'an excluded subfolder hides its files')

  const reinclude = new GitIgnore('/*\n!/keep/\n')
  t.notOk(reinclude.ignores('keep/k.txt'), 're-included folder')
  t.notOk(reinclude.ignores('keep/d/k2.txt'))
  t.ok(reinclude.ignores('top.txt'))
  t.ok(reinclude.ignores('other/x.txt'))

  const noslash = new GitIgnore('node_modules\n')
  t.ok(noslash.ignores('node_modules/p/index.js'), 'a plain name also matches folders')
  t.ok(noslash.ignores('a/node_modules/p/index.js'))
})

t.test('anchoring and **', async (t) => {
  const g = new GitIgnore('/top.txt\nsrc/gen\n**/deep.tmp\nx/**/y.c\n')
  t.ok(g.ignores('top.txt'))
  t.notOk(g.ignores('sub/top.txt'))
  t.ok(g.ignores('src/gen/a.ts'))
  t.notOk(g.ignores('lib/src/gen/a.ts'), 'a slash in the middle anchors too')
  t.ok(g.ignores('a/b/deep.tmp'))
  t.ok(g.ignores('deep.tmp'))
  t.ok(g.ignores('x/y.c'))
  t.ok(g.ignores('x/1/2/y.c'))
})

t.test('trailing spaces are dropped unless escaped', async (t) => {
  const g = new GitIgnore('trailing.txt   \nkeep\\ \n')
  t.ok(g.ignores('trailing.txt'))
  t.ok(g.ignores('keep '), 'escaped trailing space is kept')
  t.notOk(g.ignores('keep'))
  t.ok(new GitIgnore('crlf.txt\r\nother\r\n').ignores('crlf.txt'), 'CRLF')
})

const FILES = [
  'a.log', 'important.log', 'sub/b.log', 'sub/important.log', 'build/x.o', 'build/sub/y.o', 'src/build/z.o',
  'docs/build.md', 'node_modules/p/i.js', 'keep/k.txt', 'keep/d/k2.txt', 'top.txt', 'sub/top.txt', 'x/y/z/deep.tmp',
  'logs/today/a.txt', 'logs/keep.txt', 'foo/bar/baz.txt', 'foo/qux.txt', 'sp ace.txt', 'tr.txt', 'a/b/c.txt', 'lib/a.c',
  'lib/x/b.c', '!bang', '#hash',
]
const IGNORES = [
  '*.log\n!important.log', 'build/', '/build/', 'build', 'src/build', 'node_modules', '/*\n!/keep/\n!/sub/', '/*\n!keep/',
  'top.txt', '/top.txt', '**/deep.tmp', 'x/**/deep.tmp', 'logs/*\n!logs/keep.txt', 'logs/\n!logs/keep.txt',
  'foo/**\n!foo/bar/\n!foo/bar/**', 'sp\\ ace.txt', 'tr.txt   ', 'a/**/c.txt', 'lib/*.c', '*\n!*/\n!*.c', '#comment\n\\#hash',
  '\\!bang', '*.txt\n!*/\nsub/', 'keep/d', '*/', '**/b.log',
]

t.test('matches git ls-files --ignored on a set of rules and files', async (t) => {
  const root = t.testdir()
  IGNORES.forEach((text, i) => {
    const git = gitIgnoredFiles(path.join(root, `wt${i}`), `${text}\n`, FILES)
    const ours = new GitIgnore(text)
    const disagree = FILES.filter((f) => git.has(f) !== ours.ignores(f))
    t.same(disagree, [], JSON.stringify(text))
  })
})
