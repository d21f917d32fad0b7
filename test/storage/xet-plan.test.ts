import t from 'tap'
import { hashFromHex } from '../../storage/formats/xet/hash.js'
import { fileLength, mergeXorbRanges, planRange } from '../../storage/formats/xet/plan.js'
import { fixtureJson } from '../helpers/xet-fixtures.js'

const md = fixtureJson('makedata-200000-7-13.json')
const X = md.xorb_hash as string
const ends = md.xorbs['makedata-200000-7-13.lz4.xorb'].chunk_end_offsets as number[]
const tables = new Map([[X, [
  { unpackedLength: 131072, packedOffset: 0, packedLength: ends[0]! },
  { unpackedLength: 68928, packedOffset: ends[0]!, packedLength: ends[1]! - ends[0]! },
]]])
const terms = [{ xorbHash: hashFromHex(X), chunkStart: 0, chunkEnd: 2, unpackedBytes: 200000 }]

t.test('docs/xet-protocol.md §7.2 numbers for the makeData file', async (t) => {
  t.equal(fileLength(terms), 200000)
  const a = planRange(terms, tables, 131000, 131100)
  t.equal(a.offsetIntoFirstRange, 131000)
  t.equal(a.terms.length, 1)
  t.match(a.terms[0], { chunkStart: 0, chunkEnd: 2, unpackedLength: 200000, packedStart: 0, packedEndExclusive: 1363 })
  t.same(a.terms[0]!.xorbHash, hashFromHex(X), 'hands back the Buffer it was given')
  const b = planRange(terms, tables, 131072, 199999)
  t.equal(b.offsetIntoFirstRange, 0)
  t.match(b.terms, [{ chunkStart: 1, chunkEnd: 2, unpackedLength: 68928, packedStart: 803, packedEndExclusive: 1363, chunkLengths: [68928] }])
  const whole = planRange(terms, tables, 0, 10 ** 9)
  t.equal(whole.end, 199999, 'end clamped')
  t.match(whole.terms, [{ chunkStart: 0, chunkEnd: 2, packedStart: 0, packedEndExclusive: 1363 }])
  const first = planRange(terms, tables, 0, 0)
  t.match(first, { offsetIntoFirstRange: 0, terms: [{ chunkStart: 0, chunkEnd: 1, unpackedLength: 131072, packedEndExclusive: 803 }] })
  const edge = planRange(terms, tables, 131071, 131072)
  t.match(edge, { offsetIntoFirstRange: 131071, terms: [{ chunkStart: 0, chunkEnd: 2 }] })
})

t.test('string hashes and start/end tables work too', async (t) => {
  const st = new Map([[X, tables.get(X)!.map((c) => ({ unpackedLength: c.unpackedLength, packedStart: c.packedOffset, packedEnd: c.packedOffset + c.packedLength }))]])
  const p = planRange([{ ...terms[0]!, xorbHash: X.toUpperCase() }], st, 131072, 199999)
  t.match(p.terms, [{ xorbHash: X.toUpperCase(), packedStart: 803, packedEndExclusive: 1363 }])
})

t.test('multi-term files: trimming across terms, and merged per-xorb ranges', async (t) => {
  // Xorb A: chunks of 10, 20, 30 bytes (packed 5 bytes each); xorb B: 40, 50.
  const A = 'a'.repeat(64)
  const B = 'b'.repeat(64)
  const mk = (lens: number[]) => lens.map((n, i) => ({ unpackedLength: n, packedOffset: i * 5, packedLength: 5 }))
  const tbl = new Map([[A, mk([10, 20, 30])], [B, mk([40, 50])]])
  const ts = [
    { xorbHash: A, chunkStart: 0, chunkEnd: 2, unpackedBytes: 30 }, // file 0..29
    { xorbHash: B, chunkStart: 0, chunkEnd: 2, unpackedBytes: 90 }, // 30..119
    { xorbHash: A, chunkStart: 1, chunkEnd: 3, unpackedBytes: 50 }, // 120..169
  ]
  const p = planRange(ts, tbl, 15, 125)
  t.equal(p.offsetIntoFirstRange, 5)
  t.same(
    p.terms.map((x) => [x.xorbHash, x.chunkStart, x.chunkEnd, x.unpackedLength, x.packedStart, x.packedEndExclusive]),
    [
      [A, 1, 2, 20, 5, 10],
      [B, 0, 2, 90, 0, 10],
      [A, 1, 2, 20, 5, 10],
    ],
  )
  const q = planRange(ts, tbl, 30, 69)
  t.same(q.terms.map((x) => [x.xorbHash, x.chunkStart, x.chunkEnd]), [[B, 0, 1]])
  t.equal(q.offsetIntoFirstRange, 0)
  const all = planRange(ts, tbl, 0, 169)
  const merged = mergeXorbRanges(all.terms)
  t.same(merged.get(A), [{ chunkStart: 0, chunkEnd: 3, packedStart: 0, packedEndExclusive: 15 }])
  t.same(merged.get(B), [{ chunkStart: 0, chunkEnd: 2, packedStart: 0, packedEndExclusive: 10 }])
})

t.test('bad input and an inconsistent index throw', async (t) => {
  t.throws(() => planRange(terms, tables, 200000, 200001), RangeError)
  t.throws(() => planRange(terms, tables, -1, 5), RangeError)
  t.throws(() => planRange(terms, tables, 10, 5), RangeError)
  t.throws(() => planRange([], tables, 0, 0), RangeError, 'empty file: nothing to plan')
  t.throws(() => planRange(terms, new Map(), 0, 1), /no chunk table/)
  t.throws(() => planRange([{ ...terms[0]!, chunkEnd: 3 }], tables, 0, 1), /does not fit/)
  t.throws(() => planRange([{ ...terms[0]!, unpackedBytes: 199999 }], tables, 0, 1), /says 199999 bytes/)
})
