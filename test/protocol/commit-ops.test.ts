import t, { type Test } from 'tap'
import { CommitLineError, parseCommitLine } from '../../server/protocol/commit-ops.js'

const OID = 'c4b1e8f9a2d3c4b5a6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d'
const PARENT = '3b5ad1e0c1f2d4a8e9f7c6b5a4d3c2b1a0f9e8d7'

const line = (key: unknown, value: unknown) => JSON.stringify({ key, value })

/** The CommitLineError thrown by parsing `text`, failing the test if none is. */
function errorOf(t: Test, text: string, lineNo = 1): CommitLineError {
  try {
    const got = parseCommitLine(text, lineNo)
    t.fail(`expected an error for ${text.slice(0, 120)}, got ${JSON.stringify(got)}`)
  } catch (err) {
    if (err instanceof CommitLineError) return err
    t.fail(`expected a CommitLineError, got ${String(err)}`)
  }
  return new CommitLineError('none', 400)
}

t.test('header', async (t) => {
  t.same(parseCommitLine(line('header', { summary: 'Upload model', description: 'why', parentCommit: PARENT }), 1), {
    key: 'header',
    value: { summary: 'Upload model', description: 'why', parentCommit: PARENT },
  })
  t.same(parseCommitLine(line('header', { summary: 's' }), 1), {
    key: 'header',
    value: { summary: 's', description: '', parentCommit: null },
  }, 'js omits description; parentCommit optional')
  t.same(parseCommitLine(line('header', { summary: 's', description: null, parentCommit: null }), 1), {
    key: 'header',
    value: { summary: 's', description: '', parentCommit: null },
  })
  t.equal(
    (parseCommitLine(line('header', { summary: 's', parentCommit: PARENT.toUpperCase() }), 1) as { value: { parentCommit: string } })
      .value.parentCommit,
    PARENT,
    'parentCommit is normalised to lowercase',
  )
  t.equal(
    (parseCommitLine(line('header', { summary: 's', parentCommit: '3b5ad' }), 1) as { value: { parentCommit: string } }).value
      .parentCommit,
    '3b5ad',
    'a short prefix (py allows 5–40 hex) is accepted',
  )
  t.equal(errorOf(t, line('header', { description: 'x' })).status, 400, 'summary is required')
  t.equal(errorOf(t, line('header', { summary: 42 })).status, 400, 'summary must be a string')
  t.equal(errorOf(t, line('header', { summary: 's', parentCommit: 'not-hex' })).status, 400)
  t.equal(errorOf(t, line('header', { summary: 's', parentCommit: PARENT + '0' })).status, 400, '41 hex')
})

t.test('file', async (t) => {
  const b64 = Buffer.from('{"model_type": "bert"}\n').toString('base64')
  const got = parseCommitLine(line('file', { path: 'config.json', content: b64, encoding: 'base64' }), 2)
  t.same(got, { key: 'file', path: 'config.json', content: Buffer.from('{"model_type": "bert"}\n') })

  const utf8 = parseCommitLine(line('file', { path: 'a.txt', content: 'héllo', encoding: 'utf-8' }), 2)
  t.same(utf8, { key: 'file', path: 'a.txt', content: Buffer.from('héllo', 'utf8') })
  const noEnc = parseCommitLine(line('file', { path: 'a.txt', content: 'plain' }), 2)
  t.same(noEnc, { key: 'file', path: 'a.txt', content: Buffer.from('plain') }, 'no encoding: UTF-8')
  const empty = parseCommitLine(line('file', { path: 'empty.pkl', content: '', encoding: 'base64' }), 2)
  t.same(empty, { key: 'file', path: 'empty.pkl', content: Buffer.alloc(0) }, 'empty file')

  const binary = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255])
  const wrapped = binary.toString('base64').replace(/(.{4})/g, '$1\n')
  t.same(
    parseCommitLine(line('file', { path: 'b.bin', content: wrapped, encoding: 'base64' }), 2),
    { key: 'file', path: 'b.bin', content: binary },
    'whitespace inside base64 is ignored',
  )

  t.equal(errorOf(t, line('file', { path: 'a.txt' })).status, 400, 'content required')
  t.equal(errorOf(t, line('file', { content: 'x' })).status, 400, 'path required')
  t.equal(errorOf(t, line('file', { path: 'a.txt', content: 'x', encoding: 'latin1' })).status, 400, 'unknown encoding')
  t.equal(errorOf(t, line('file', { path: 7, content: 'x' })).status, 400, 'path must be a string')
})

t.test('invalid base64 → 400', async (t) => {
  for (const bad of ['abc', 'ab$d', 'A===', '====', 'ab=c', 'YQ==YQ==', '-_8=', 'YWJj\u00e9']) {
    const err = errorOf(t, line('file', { path: 'a', content: bad, encoding: 'base64' }), 3)
    t.equal(err.status, 400, JSON.stringify(bad))
    t.match(err.message, /line 3/, 'message names the line')
  }
})

t.test('lfsFile', async (t) => {
  t.same(parseCommitLine(line('lfsFile', { path: 'model.safetensors', algo: 'sha256', oid: OID, size: 497774208 }), 1), {
    key: 'lfsFile',
    path: 'model.safetensors',
    oid: OID,
    size: 497774208,
  })
  t.same(
    parseCommitLine(line('lfsFile', { path: 'copy.bin', algo: 'sha256', oid: OID }), 1),
    { key: 'lfsFile', path: 'copy.bin', oid: OID, size: null },
    'py copies omit size',
  )
  t.same(parseCommitLine(line('lfsFile', { path: 'z', oid: OID, size: 0 }), 1), { key: 'lfsFile', path: 'z', oid: OID, size: 0 })
  t.equal(errorOf(t, line('lfsFile', { path: 'a', oid: OID.toUpperCase(), size: 1 })).status, 400, 'uppercase oid')
  t.equal(errorOf(t, line('lfsFile', { path: 'a', oid: OID.slice(1), size: 1 })).status, 400, 'short oid')
  t.equal(errorOf(t, line('lfsFile', { path: 'a', size: 1 })).status, 400, 'oid required')
  t.equal(errorOf(t, line('lfsFile', { path: 'a', oid: OID, algo: 'md5', size: 1 })).status, 400, 'other algo')
  for (const size of [-1, 1.5, '12', true, 2 ** 60]) {
    t.equal(errorOf(t, line('lfsFile', { path: 'a', oid: OID, size })).status, 400, `size ${JSON.stringify(size)}`)
  }
})

t.test('deletedFile and deletedFolder', async (t) => {
  t.same(parseCommitLine(line('deletedFile', { path: 'pytorch_model.bin' }), 1), { key: 'deletedFile', path: 'pytorch_model.bin' })
  t.same(parseCommitLine(line('deletedFolder', { path: 'logs/' }), 1), { key: 'deletedFolder', path: 'logs' }, 'trailing slash dropped')
  t.same(parseCommitLine(line('deletedFolder', { path: 'a/b//' }), 1), { key: 'deletedFolder', path: 'a/b' })
  t.same(parseCommitLine(line('deletedFolder', { path: 'logs' }), 1), { key: 'deletedFolder', path: 'logs' })
  t.equal(errorOf(t, line('deletedFolder', { path: '/' })).status, 422, 'the root is not a folder path')
  t.equal(errorOf(t, line('deletedFolder', {})).status, 400, 'path required')
})

t.test('copyFile', async (t) => {
  t.same(parseCommitLine(line('copyFile', { path: 'b.bin', srcPath: 'a.bin', srcRevision: 'main' }), 1), {
    key: 'copyFile',
    path: 'b.bin',
    srcPath: 'a.bin',
    srcRevision: 'main',
  })
  t.same(parseCommitLine(line('copyFile', { path: 'b.bin', oldPath: 'a.bin' }), 1), {
    key: 'copyFile',
    path: 'b.bin',
    srcPath: 'a.bin',
    srcRevision: null,
  })
  t.equal(errorOf(t, line('copyFile', { path: 'b.bin', srcPath: '../a.bin' })).status, 422, 'source path validated')
})

t.test('malformed lines → 400', async (t) => {
  for (const text of ['', '{', 'not json', '{"key": "file", "value": {"path": "a", "content": "x"}', 'null', '[]', '42', '"header"']) {
    t.equal(errorOf(t, text).status, 400, JSON.stringify(text))
  }
  t.equal(errorOf(t, JSON.stringify({ key: 'file' })).status, 400, 'value missing')
  t.equal(errorOf(t, JSON.stringify({ key: 'file', value: [] })).status, 400, 'value an array')
  t.equal(errorOf(t, JSON.stringify({ key: 'file', value: 'x' })).status, 400, 'value a string')
})

t.test('unknown key → 400', async (t) => {
  for (const key of ['folder', 'File', 'lfs', '', null, 3, undefined]) {
    const err = errorOf(t, JSON.stringify({ key, value: { path: 'a' } }), 5)
    t.equal(err.status, 400, JSON.stringify(key))
    t.match(err.message, /line 5/)
  }
})

t.test('invalid paths → 422 for every path-carrying key', async (t) => {
  const bad = ['../x', 'a/../x', '/abs', 'a//b', '.git/config', 'a/.git/HEAD', '.GIT/config', 'a\u0000b', 'x\n', './a', 'a/.', 'a\\b', '', 'é'.repeat(501)]
  for (const p of bad) {
    const ops: [string, Record<string, unknown>][] = [
      ['file', { path: p, content: '' }],
      ['lfsFile', { path: p, oid: OID, size: 1 }],
      ['deletedFile', { path: p }],
      ['copyFile', { path: p, srcPath: 'ok.txt' }],
    ]
    for (const [key, value] of ops) {
      const err = errorOf(t, line(key, value))
      t.equal(err.status, 422, `${key} ${JSON.stringify(p.slice(0, 20))}`)
    }
  }
  t.equal(errorOf(t, line('file', { path: 'a'.repeat(1001), content: '' })).status, 422, '1001 bytes')
  t.same(parseCommitLine(line('file', { path: 'a'.repeat(1000), content: '' }), 1), {
    key: 'file',
    path: 'a'.repeat(1000),
    content: Buffer.alloc(0),
  }, '1000 bytes is fine')
  const long = errorOf(t, line('file', { path: 'a'.repeat(5000), content: '' }))
  t.ok(long.message.length < 400, 'the message does not echo a huge path')
})

t.test('CommitLineError', async (t) => {
  const err = errorOf(t, 'nope', 9)
  t.type(err, Error)
  t.equal(err.name, 'CommitLineError')
  t.match(err.message, /line 9/)
})
