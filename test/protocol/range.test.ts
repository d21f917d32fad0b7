import t from 'tap'
import { parseRange } from '../../server/protocol/range.js'

t.test('no header or no usable range → full body', async (t) => {
  t.same(parseRange(undefined, 10), { kind: 'full' })
  t.same(parseRange('', 10), { kind: 'full' })
  t.same(parseRange('bytes=-', 10), { kind: 'full' }, 'neither bound')
  t.same(parseRange('items=0-1', 10), { kind: 'full' }, 'other unit')
  t.same(parseRange('bytes=a-b', 10), { kind: 'full' }, 'garbage')
  t.same(parseRange('bytes=1.5-2', 10), { kind: 'full' }, 'not an integer')
  t.same(parseRange('bytes 0-1', 10), { kind: 'full' }, 'missing "="')
})

t.test('bytes=a-b (inclusive end)', async (t) => {
  t.same(parseRange('bytes=0-0', 10), { kind: 'partial', start: 0, end: 0 }, 'the js/tjs size probe')
  t.same(parseRange('bytes=2-5', 10), { kind: 'partial', start: 2, end: 5 })
  t.same(parseRange('bytes=9-9', 10), { kind: 'partial', start: 9, end: 9 }, 'last byte')
  t.same(parseRange('bytes=0-9', 10), { kind: 'partial', start: 0, end: 9 }, 'exactly the body')
  t.same(parseRange('bytes=3-100000', 10), { kind: 'partial', start: 3, end: 9 }, 'end past the body is clamped')
  t.same(parseRange('BYTES = 2 - 5', 10), { kind: 'partial', start: 2, end: 5 }, 'unit case and spaces tolerated')
  t.same(parseRange('bytes=5-3', 10), { kind: 'full' }, 'end before start is an invalid range: ignored')
})

t.test('bytes=a- (open end, the py0 resume form)', async (t) => {
  t.same(parseRange('bytes=0-', 10), { kind: 'partial', start: 0, end: 9 })
  t.same(parseRange('bytes=7-', 10), { kind: 'partial', start: 7, end: 9 })
  t.same(parseRange('bytes=9-', 10), { kind: 'partial', start: 9, end: 9 })
})

t.test('bytes=-n (suffix)', async (t) => {
  t.same(parseRange('bytes=-3', 10), { kind: 'partial', start: 7, end: 9 })
  t.same(parseRange('bytes=-10', 10), { kind: 'partial', start: 0, end: 9 })
  t.same(parseRange('bytes=-50', 10), { kind: 'partial', start: 0, end: 9 }, 'suffix longer than the body: all of it')
  t.same(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' }, 'empty suffix')
})

t.test('416 cases: start at or beyond the end', async (t) => {
  t.same(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=10-20', 10), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=11-11', 10), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=99999999999999999999-', 10), { kind: 'unsatisfiable' }, 'huge start')
})

t.test('size 0', async (t) => {
  t.same(parseRange(undefined, 0), { kind: 'full' })
  t.same(parseRange('bytes=0-0', 0), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' })
})

t.test('several ranges → full body (docs/hub-api.md §7.6 allows 200)', async (t) => {
  t.same(parseRange('bytes=0-1,3-4', 10), { kind: 'full' })
  t.same(parseRange('bytes=0-1, 5-', 10), { kind: 'full' })
  t.same(parseRange('bytes=-1,-2', 10), { kind: 'full' })
})

t.test('a partial result always lies inside the body', async (t) => {
  const headers = ['bytes=0-0', 'bytes=0-', 'bytes=-1', 'bytes=-7', 'bytes=3-4', 'bytes=4-', 'bytes=2-100']
  for (const size of [1, 2, 5, 8]) {
    for (const h of headers) {
      const r = parseRange(h, size)
      if (r.kind !== 'partial') continue
      t.ok(r.start >= 0 && r.start <= r.end && r.end < size, `${h} on ${size} bytes → ${r.start}-${r.end}`)
    }
  }
})
