import t from 'tap'
import { repoPathProblem } from '../../server/protocol/repo-path.js'

t.test('acceptable paths', async (t) => {
  for (const p of [
    'README.md',
    '.gitattributes',
    '.gitignore',
    'a/b/c.txt',
    'a b/c d?.txt',
    'dir.git/x',
    'x.git',
    '.github/workflows/ci.yml',
    '...',
    '..a',
    'a..',
    'café/ñ.txt',
    '日本語/ファイル',
    'a'.repeat(1000),
  ]) {
    t.equal(repoPathProblem(p), null, JSON.stringify(p.slice(0, 30)))
  }
})

t.test('unacceptable paths', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['/abs', /relative/],
    ['/', /relative/],
    ['a//b', /empty segment/],
    ['a/', /empty segment/],
    ['../x', /"\.\."/],
    ['a/../../x', /"\.\."/],
    ['a/..', /"\.\."/],
    ['./a', /"\."/],
    ['a/./b', /"\."/],
    ['.git', /\.git/],
    ['.git/config', /\.git/],
    ['sub/.git/HEAD', /\.git/],
    ['.Git/config', /\.git/],
    ['a\u0000b', /control/],
    ['a\nb', /control/],
    ['a\tb', /control/],
    ['a\u007fb', /control/],
    ['a\\b', /backslash/],
    ['a'.repeat(1001), /1000 bytes/],
    ['é'.repeat(501), /1000 bytes/], // 1002 bytes in 501 characters
  ]
  for (const [p, why] of cases) {
    const problem = repoPathProblem(p)
    t.ok(problem, `${JSON.stringify(p.slice(0, 30))} is refused`)
    t.match(problem ?? '', why)
  }
})

t.test('the limit counts UTF-8 bytes, not characters', async (t) => {
  t.equal(repoPathProblem('é'.repeat(500)), null, '1000 bytes')
  t.ok(repoPathProblem('é'.repeat(500) + 'a'), '1001 bytes')
  t.ok(repoPathProblem('😀'.repeat(251)), '1004 bytes in 502 UTF-16 units')
})
