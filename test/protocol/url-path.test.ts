import t from 'tap'
import { BadEncodingError, decodeSegment, rawSegments, revisionAndPath, revisionFrom } from '../../server/protocol/url-path.js'

/** An isRef callback that knows a fixed set of refs and records what it was asked. */
function refs(...names: string[]) {
  const asked: string[] = []
  const isRef = async (name: string) => {
    asked.push(name)
    return names.includes(name)
  }
  return { isRef, asked }
}

const never = async () => false

t.test('rawSegments keeps the raw (encoded) segments and drops the query', async (t) => {
  t.same(rawSegments('/api/models/ns/name/tree/main'), ['api', 'models', 'ns', 'name', 'tree', 'main'])
  t.same(rawSegments('/ns/name/resolve/refs%2Fpr%2F1/a%20b.txt?download=true&x=%2F'), [
    'ns', 'name', 'resolve', 'refs%2Fpr%2F1', 'a%20b.txt',
  ])
  t.same(rawSegments('/a/b/'), ['a', 'b', ''], 'trailing slash gives an empty last segment')
  t.same(rawSegments('/a//b'), ['a', '', 'b'])
  t.same(rawSegments('/?q=1'), [''])
})

t.test('decodeSegment decodes exactly once', async (t) => {
  t.equal(decodeSegment('refs%2Fpr%2F1'), 'refs/pr/1')
  t.equal(decodeSegment('refs%252Fpr%252F1'), 'refs%2Fpr%2F1', 'doubly encoded stays encoded once')
  t.equal(decodeSegment('a+b'), 'a+b', '+ is a literal plus, not a space')
  t.equal(decodeSegment('a%20b%3F.txt'), 'a b?.txt')
  t.equal(decodeSegment('caf%C3%A9'), 'café', 'UTF-8')
  t.equal(decodeSegment('plain'), 'plain')
})

t.test('bad percent-encoding → BadEncodingError', async (t) => {
  for (const bad of ['%', '%2', '%zz', 'a%G0', '%E9', '%C3%28', '%FF%FE']) {
    t.throws(() => decodeSegment(bad), BadEncodingError, JSON.stringify(bad))
  }
  t.throws(() => revisionFrom(['main', '%zz']), BadEncodingError)
  await t.rejects(revisionAndPath(['main', 'a%'], never), BadEncodingError)
  await t.rejects(revisionAndPath(['%E9'], never), BadEncodingError)
  const err = (() => {
    try {
      decodeSegment('%zz')
    } catch (e) {
      return e
    }
  })()
  t.equal((err as Error).name, 'BadEncodingError')
})

t.test('revisionFrom: a revision alone (rule 3)', async (t) => {
  t.equal(revisionFrom(['main']), 'main')
  t.equal(revisionFrom(['refs%2Fpr%2F1']), 'refs/pr/1', 'fully encoded')
  t.equal(revisionFrom(['refs', 'pr', '1']), 'refs/pr/1', 'raw, several segments')
  t.equal(revisionFrom(['refs%252Fpr%252F1']), 'refs%2Fpr%2F1', 'decoded once only')
  t.equal(revisionFrom(['feature', 'x%20y']), 'feature/x y')
  t.equal(revisionFrom([]), '')
})

t.test('revisionAndPath: first segment decoding to a / is the whole revision', async (t) => {
  const r = refs()
  t.same(await revisionAndPath(['refs%2Fpr%2F1', 'config.json'], r.isRef), { rev: 'refs/pr/1', path: 'config.json' })
  t.same(await revisionAndPath(['feature%2Fx', 'a', 'b.txt'], r.isRef), { rev: 'feature/x', path: 'a/b.txt' })
  t.same(await revisionAndPath(['refs%2Fpr%2F1'], r.isRef), { rev: 'refs/pr/1', path: '' })
  t.same(r.asked, [], 'no ref lookups needed')
})

t.test('revisionAndPath: raw refs/pr/N and refs/convert/X', async (t) => {
  const r = refs()
  t.same(await revisionAndPath(['refs', 'pr', '1', 'dir', 'f.txt'], r.isRef), { rev: 'refs/pr/1', path: 'dir/f.txt' })
  t.same(await revisionAndPath(['refs', 'pr', '12'], r.isRef), { rev: 'refs/pr/12', path: '' })
  t.same(await revisionAndPath(['refs', 'convert', 'parquet', 'x.parquet'], r.isRef), {
    rev: 'refs/convert/parquet',
    path: 'x.parquet',
  })
  t.same(r.asked, [], 'no ref lookups needed')
})

t.test('revisionAndPath: doubly-encoded revision is not decoded twice', async (t) => {
  const r = refs('refs/pr/1')
  t.same(await revisionAndPath(['refs%252Fpr%252F1', 'f.txt'], r.isRef), { rev: 'refs%2Fpr%2F1', path: 'f.txt' })
})

t.test('revisionAndPath: plain revision, path segments each decoded once', async (t) => {
  t.same(await revisionAndPath(['main', 'a%20b%3F.txt'], never), { rev: 'main', path: 'a b?.txt' })
  t.same(await revisionAndPath(['main', 'a%2Fb', 'c.txt'], never), { rev: 'main', path: 'a/b/c.txt' }, 'hub-py tree path in one segment')
  t.same(await revisionAndPath(['main', 'x%2520y'], never), { rev: 'main', path: 'x%20y' })
  t.same(await revisionAndPath(['main'], never), { rev: 'main', path: '' })
  t.same(await revisionAndPath(['main', ''], never), { rev: 'main', path: '' }, 'trailing slash')
  t.same(await revisionAndPath([], never), { rev: '', path: '' })
  t.same(await revisionAndPath(['0123456789abcdef0123456789abcdef01234567', 'f'], never), {
    rev: '0123456789abcdef0123456789abcdef01234567',
    path: 'f',
  })
})

t.test('revisionAndPath: multi-segment branch names via isRef', async (t) => {
  const r = refs('feature/x')
  t.same(await revisionAndPath(['feature', 'x', 'dir', 'f.txt'], r.isRef), { rev: 'feature/x', path: 'dir/f.txt' })
  t.same(r.asked, ['feature/x/dir/f.txt', 'feature/x/dir', 'feature/x'], 'longest prefix first, stops at the first hit')

  t.same(await revisionAndPath(['feature', 'x'], refs('feature/x').isRef), { rev: 'feature/x', path: '' })
  t.same(
    await revisionAndPath(['feature', 'x', 'y', 'f'], refs('feature/x', 'feature/x/y').isRef),
    { rev: 'feature/x/y', path: 'f' },
    'the longest existing ref wins',
  )
  t.same(
    await revisionAndPath(['main', 'dir', 'f'], refs('main').isRef),
    { rev: 'main', path: 'dir/f' },
    'a single segment needs no lookup',
  )
  const none = refs()
  t.same(await revisionAndPath(['feature', 'x', 'f'], none.isRef), { rev: 'feature', path: 'x/f' }, 'no ref: first segment')
  t.notOk(none.asked.includes('feature'), 'the single segment fallback is not looked up')
  t.same(
    await revisionAndPath(['feat%20ure', 'x%2By', 'f'], refs('feat ure/x+y').isRef),
    { rev: 'feat ure/x+y', path: 'f' },
    'candidates are built from decoded segments',
  )
})
