import t, { type Test } from 'tap'
import { compilePattern, splitAttributesLine, type PathPattern } from '../../storage/formats/git-patterns.js'

function compiled(raw: string): PathPattern {
  const p = compilePattern(raw)
  if (!p) throw new Error(`${raw} compiled to null`)
  return p
}

/** Asserts which of `paths` the pattern matches (and that it matches no other one of them). */
function expectMatches(t: Test, raw: string, matching: string[], notMatching: string[]) {
  const p = compiled(raw)
  for (const path of matching) t.ok(p.match(path), `${raw} matches ${path}`)
  for (const path of notMatching) t.notOk(p.match(path), `${raw} does not match ${path}`)
}

t.test('blank lines and comments compile to null', async (t) => {
  t.equal(compilePattern(''), null)
  t.equal(compilePattern('# a comment'), null)
  t.equal(compilePattern('#'), null)
  t.equal(compilePattern('/'), null, 'a lone slash names nothing')
  t.equal(compilePattern('!'), null)
  t.ok(compilePattern('\\#not-a-comment'))
})

t.test('flags', async (t) => {
  t.same({ ...compiled('*.log'), match: null }, { match: null, dirOnly: false, negated: false })
  t.same({ ...compiled('!keep.log'), match: null }, { match: null, dirOnly: false, negated: true })
  t.same({ ...compiled('build/'), match: null }, { match: null, dirOnly: true, negated: false })
  t.same({ ...compiled('!build/'), match: null }, { match: null, dirOnly: true, negated: true })
  t.equal(compiled('\\!important').negated, false, 'escaped "!" is literal')
  t.ok(compiled('\\!important').match('!important'))
})

t.test('a pattern without a slash matches at any depth', async (t) => {
  expectMatches(t, '*.bin', ['a.bin', 'sub/a.bin', 'x/y/z.bin', '.bin'], ['a.bin.txt', 'abin', 'a.bin/x'])
  expectMatches(t, 'build', ['build', 'src/build'], ['builds', 'build/x', 'rebuild'])
  expectMatches(t, 'build/', ['build', 'a/build'], ['build/x'])
})

t.test('a pattern with a slash is anchored at the root', async (t) => {
  expectMatches(t, '/root.bin', ['root.bin'], ['sub/root.bin'])
  expectMatches(t, 'sub/*.bin', ['sub/a.bin'], ['x/sub/a.bin', 'sub/deep/a.bin'])
  expectMatches(t, '/build/', ['build'], ['src/build'])
  expectMatches(t, 'a/b', ['a/b'], ['x/a/b', 'a/b/c'])
})

t.test('* and ? stay inside a segment', async (t) => {
  expectMatches(t, 'm/*/c', ['m/z/c', 'm//c'], ['m/z/y/c', 'm/c'])
  expectMatches(t, '?.q', ['1.q', 'd/x.q'], ['12.q', '.q'])
  expectMatches(t, 'a?b', ['axb'], ['a/b', 'ab'])
  expectMatches(t, '*tfevents*', ['events.out.tfevents.1', 'logs/tfevents'], ['tfevent'])
})

t.test('** crosses segments', async (t) => {
  expectMatches(t, '**/x', ['x', 'q/x', 'q/r/x'], ['xq', 'q/xq'])
  expectMatches(t, 'a/**/b', ['a/b', 'a/c/b', 'a/c/d/b'], ['b', 'x/a/b', 'a/cb'])
  expectMatches(t, 'a/**', ['a/q', 'a/q/r'], ['a', 'b/a/q'])
  expectMatches(t, 'saved_model/**/*', ['saved_model/a', 'saved_model/a/b'], ['saved_model', 'x/saved_model/a'])
  expectMatches(t, '**', ['a', 'a/b/c'], [])
  expectMatches(t, 'foo**', ['foo', 'foobar', 'x/foobar'], ['foo/bar'])
})

t.test('character classes', async (t) => {
  expectMatches(t, '[ab].txt', ['a.txt', 'b.txt'], ['c.txt', 'ab.txt'])
  expectMatches(t, '[!ab].txt', ['c.txt'], ['a.txt', 'b.txt'])
  expectMatches(t, '[^ab].txt', ['c.txt'], ['a.txt'])
  expectMatches(t, '[a-c]z', ['az', 'bz', 'cz'], ['dz'])
  expectMatches(t, '[]]x', [']x'], ['ax'])
  expectMatches(t, '*.[Tt][Xx][Tt]', ['r.TXT', 'r.tXt', 'r.txt'], ['r.tex'])
  expectMatches(t, 's[[:space:]]t', ['s t', 's\tt'], ['st', 's_t'])
  // git's wildmatch gives up on an unterminated class: the pattern matches nothing (git check-attr agrees).
  expectMatches(t, 'a[b', [], ['a[b', 'ab'])
})

t.test('escapes and regex metacharacters are literal', async (t) => {
  expectMatches(t, '\\*.star', ['*.star'], ['a.star'])
  expectMatches(t, 'n\\[1\\].w', ['n[1].w'], ['n1.w'])
  expectMatches(t, 'x\\ y', ['x y'], ['xy', 'x\\ y'])
  expectMatches(t, 'a+b(c)|d{1}$^.e', ['a+b(c)|d{1}$^.e'], ['aab(c)|d{1}$^Xe'])
  expectMatches(t, '\\#h', ['#h'], ['h'])
})

t.test('splitAttributesLine', async (t) => {
  t.equal(splitAttributesLine(''), null)
  t.equal(splitAttributesLine('   '), null)
  t.equal(splitAttributesLine('# *.bin filter=lfs'), null)
  t.same(splitAttributesLine('*.bin filter=lfs diff=lfs merge=lfs -text'), {
    pattern: '*.bin',
    attrs: ['filter=lfs', 'diff=lfs', 'merge=lfs', '-text'],
  })
  t.same(splitAttributesLine('  *.bin\t filter=lfs   -text  '), { pattern: '*.bin', attrs: ['filter=lfs', '-text'] }, 'tabs and runs of blanks')
  t.same(splitAttributesLine('"q r.bin" filter=lfs'), { pattern: 'q r.bin', attrs: ['filter=lfs'] }, 'quoted pattern')
  t.same(splitAttributesLine('a[[:space:]]b.bin filter=lfs'), { pattern: 'a[[:space:]]b.bin', attrs: ['filter=lfs'] })
  t.same(splitAttributesLine('*.bin'), { pattern: '*.bin', attrs: [] }, 'no attributes')
  t.equal(splitAttributesLine('"unterminated filter=lfs'), null)
})
