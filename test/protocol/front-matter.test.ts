import t from 'tap'
import { parseFrontMatter } from '../../server/protocol/front-matter.js'

t.test('a mapping', async (t) => {
  t.same(parseFrontMatter('---\nlicense: mit\ntags:\n  - a\n  - b\n---\n# Title\n'), {
    kind: 'ok',
    data: { license: 'mit', tags: ['a', 'b'] },
  })
  t.same(parseFrontMatter('---\r\nlicense: mit\r\n---\r\nbody'), { kind: 'ok', data: { license: 'mit' } }, 'CRLF')
  t.same(parseFrontMatter('\uFEFF---\nlicense: mit\n---\n'), { kind: 'ok', data: { license: 'mit' } }, 'BOM')
  t.same(parseFrontMatter('---  \nlicense: mit\n--- \t\n'), { kind: 'ok', data: { license: 'mit' } }, 'trailing blanks on fences')
  t.same(parseFrontMatter('---\nlicense: mit\n---'), { kind: 'ok', data: { license: 'mit' } }, 'closing fence at end of file')
  t.same(
    parseFrontMatter('---\na: 1\n---\ntext\n---\nb: 2\n---\n'),
    { kind: 'ok', data: { a: 1 } },
    'only the first block; later fences are markdown',
  )
})

t.test('no front matter → empty', async (t) => {
  for (const readme of [
    '',
    '# Title\n',
    '\n---\na: 1\n---\n', // not at the very start
    '---\na: 1\n', // never closed
    '--- \na: 1\n----\n', // closing fence must be exactly three dashes
    '---\n---\n',
    '---\n\n---\n',
    '---\n# only a comment\n---\n',
    'text\n---\na: 1\n---\n',
  ]) {
    t.same(parseFrontMatter(readme), { kind: 'empty' }, JSON.stringify(readme))
  }
})

t.test('invalid metadata', async (t) => {
  const list = parseFrontMatter('---\n- a\n- b\n---\n')
  t.equal(list.kind, 'invalid', 'a list')
  const scalar = parseFrontMatter('---\njust text\n---\n')
  t.equal(scalar.kind, 'invalid', 'a scalar')
  const broken = parseFrontMatter('---\nkey: [unclosed\n---\n')
  t.equal(broken.kind, 'invalid', 'a YAML syntax error')
  if (broken.kind === 'invalid') {
    t.ok(broken.message.length > 0)
    t.notMatch(broken.message, /\n/, 'one line')
  }
  const dup = parseFrontMatter('---\na: 1\na: 2\n---\n')
  t.equal(dup.kind, 'invalid', 'duplicate keys')
})
