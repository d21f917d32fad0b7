import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import t from 'tap'
import { hashFromHex, hashToHex, initXetHash } from '../../storage/formats/xet/hash.js'
import { planRange, type PlanChunk } from '../../storage/formats/xet/plan.js'
import { buildXorb, type XorbLayout } from '../../storage/formats/xet/xorb.js'
import { reconstructStream, XetReconstructError } from '../../storage/xet/reconstruct-stream.js'
import { compressibleBytes, fixtureBytes, fixtureJson, makeData } from '../helpers/xet-fixtures.js'

const md = fixtureJson('makedata-200000-7-13.json')
const data = makeData(200000, 7, 13)

t.before(() => initXetHash())

/** A tiny xorb store: range reads served in pieces of `piece` bytes. */
function store(xorbs: Map<string, Buffer>, piece = 97) {
  const opened: [string, number, number][] = []
  const open = (h: Buffer | string, start: number, end: number) => {
    const hex = typeof h === 'string' ? h : hashToHex(h)
    opened.push([hex, start, end])
    const bytes = xorbs.get(hex)!.subarray(start, end)
    return Readable.from((function* () {
      for (let o = 0; o < bytes.length; o += piece) yield bytes.subarray(o, o + piece)
    })())
  }
  return { open, opened }
}

const tableOf = (l: XorbLayout): PlanChunk[] => l.chunks.map((c) => ({ unpackedLength: c.unpackedLength, packedOffset: c.packedOffset, packedLength: c.packedLength }))

t.test('makeData file from each fixture xorb, whole and by range', async (t) => {
  for (const name of ['makedata-200000-7-13.lz4.xorb', 'makedata-200000-7-13.bg4.xorb', 'makedata-200000-7-13.lz4.footer-v1.xorb']) {
    const bytes = fixtureBytes(name)
    const layout = buildXorb([data.subarray(0, 131072), data.subarray(131072)], name.includes('bg4') ? 2 : 1).layout
    const { open } = store(new Map([[md.xorb_hash, bytes]]))
    const tables = new Map([[md.xorb_hash, tableOf(layout)]])
    const terms = [{ xorbHash: hashFromHex(md.xorb_hash), chunkStart: 0, chunkEnd: 2, unpackedBytes: 200000 }]
    for (const [s, e] of [[0, 199999], [131000, 131100], [131072, 199999], [0, 0], [199999, 199999], [5, 131071]] as const) {
      const plan = planRange(terms, tables, s, e)
      const got = await buffer(reconstructStream(plan, open, { skip: plan.offsetIntoFirstRange, length: e - s + 1 }))
      t.same(got, data.subarray(s, e + 1), `${name} bytes=${s}-${e}`)
    }
  }
})

t.test('multi-xorb, multi-term file with every scheme; hashes verified on request', async (t) => {
  const chunks = Array.from({ length: 12 }, (_, i) => compressibleBytes(1000 + i * 9000, i + 1))
  const xa = buildXorb(chunks.slice(0, 6), 1)
  const xb = buildXorb(chunks.slice(6, 9), 2)
  const xc = buildXorb(chunks.slice(9), 0)
  const hex = (l: XorbLayout) => hashToHex(l.hash)
  const xorbs = new Map([[hex(xa.layout), xa.bytes], [hex(xb.layout), xb.bytes], [hex(xc.layout), xc.bytes]])
  const tables = new Map([xa, xb, xc].map((x) => [hex(x.layout), tableOf(x.layout)]))
  const sum = (l: XorbLayout, a: number, b: number) => l.chunks.slice(a, b).reduce((s, c) => s + c.unpackedLength, 0)
  const terms = [
    { xorbHash: hex(xa.layout), chunkStart: 0, chunkEnd: 4, unpackedBytes: sum(xa.layout, 0, 4) },
    { xorbHash: hex(xb.layout), chunkStart: 0, chunkEnd: 3, unpackedBytes: sum(xb.layout, 0, 3) },
    { xorbHash: hex(xa.layout), chunkStart: 4, chunkEnd: 6, unpackedBytes: sum(xa.layout, 4, 6) },
    { xorbHash: hex(xc.layout), chunkStart: 0, chunkEnd: 3, unpackedBytes: sum(xc.layout, 0, 3) },
    { xorbHash: hex(xa.layout), chunkStart: 1, chunkEnd: 3, unpackedBytes: sum(xa.layout, 1, 3) },
  ]
  const file = Buffer.concat([...chunks.slice(0, 4), ...chunks.slice(6, 9), ...chunks.slice(4, 6), ...chunks.slice(9), ...chunks.slice(1, 3)])
  const { open, opened } = store(xorbs, 4096)
  let seed = 5
  for (let k = 0; k < 25; k++) {
    seed = (seed * 1103515245 + 12345) >>> 0
    const s = k === 0 ? 0 : seed % file.length
    const e = k === 0 ? file.length - 1 : Math.min(file.length - 1, s + (seed >>> 7) % 200000)
    const plan = planRange(terms, tables, s, e)
    const withHashes = {
      terms: plan.terms.map((pt) => {
        const l = [xa, xb, xc].find((x) => hex(x.layout) === pt.xorbHash)!.layout
        return { ...pt, chunkHashes: l.chunks.slice(pt.chunkStart, pt.chunkEnd).map((c) => c.hash) }
      }),
    }
    const got = await buffer(reconstructStream(withHashes, open, { skip: plan.offsetIntoFirstRange, length: e - s + 1, verifyHashes: true }))
    t.ok(got.equals(file.subarray(s, e + 1)), `bytes=${s}-${e}`)
  }
  t.ok(opened.every(([, a, b]) => b > a), 'only packed ranges were opened')
})

t.test('corrupt stored bytes error the stream', async (t) => {
  const good = fixtureBytes('makedata-200000-7-13.lz4.xorb')
  const layout = buildXorb([data.subarray(0, 131072), data.subarray(131072)], 1).layout
  const tables = new Map([[md.xorb_hash, tableOf(layout)]])
  const terms = [{ xorbHash: md.xorb_hash as string, chunkStart: 0, chunkEnd: 2, unpackedBytes: 200000 }]
  const plan = planRange(terms, tables, 0, 199999)
  const run = (bytes: Buffer, p: any = plan, opts: any = {}) =>
    buffer(reconstructStream(p, store(new Map([[md.xorb_hash, bytes]])).open, { skip: 0, length: 200000, ...opts }))
  const flipped = Buffer.from(good)
  flipped[900] = flipped[900]! ^ 0xff
  // @NOTE a flipped literal byte keeps the length: only the chunk hash catches it.
  const hashed = { terms: [{ ...plan.terms[0]!, chunkHashes: layout.chunks.map((c) => c.hash) }] }
  t.same(await run(good, hashed, { verifyHashes: true }), data)
  await t.rejects(run(flipped, hashed, { verifyHashes: true }), XetReconstructError, 'flipped payload byte')
  const garbled = Buffer.from(good)
  garbled.fill(0xee, 20, 60)
  await t.rejects(run(garbled), XetReconstructError, 'garbled LZ4 frame')
  const v = Buffer.from(good)
  v[803] = 1
  await t.rejects(run(v), /chunk header version 1/)
  await t.rejects(run(good.subarray(0, 1000)), /ends inside a chunk|holds 1 chunks/, 'truncated blob')
  const wrongLen = { terms: [{ ...plan.terms[0]!, chunkLengths: [131072, 68927] }] }
  await t.rejects(run(good, wrongLen), /the index 68927/)
  const wrongHash = { terms: [{ ...plan.terms[0]!, chunkHashes: [Buffer.alloc(32), Buffer.alloc(32)] }] }
  await t.rejects(run(good, wrongHash, { verifyHashes: true }), /chunk hash mismatch/)
  t.same(await run(good, wrongHash), data, 'hashes only checked when asked')
  const short = { terms: [{ ...plan.terms[0]!, chunkEnd: 1, chunkLengths: [131072] }] }
  await t.rejects(run(good, short), /more than 1 chunks/)
  await t.rejects(buffer(reconstructStream(plan, store(new Map([[md.xorb_hash, good]])).open, { skip: 0, length: 200001 })), /yields 200000 of the 200001/)
})

t.test('backpressure: a slow consumer never makes the stream read ahead a whole file', async (t) => {
  const chunks = Array.from({ length: 40 }, (_, i) => compressibleBytes(131072, i + 100))
  const x = buildXorb(chunks, 1)
  const hx = hashToHex(x.layout.hash)
  let served = 0
  const open = (_h: string, s: number, e: number) =>
    Readable.from((function* () {
      for (let o = s; o < e; o += 65536) {
        served += Math.min(65536, e - o)
        yield x.bytes.subarray(o, Math.min(e, o + 65536))
      }
    })())
  const plan = planRange([{ xorbHash: hx, chunkStart: 0, chunkEnd: 40, unpackedBytes: 40 * 131072 }], new Map([[hx, tableOf(x.layout)]]), 0, 40 * 131072 - 1)
  const stream = reconstructStream(plan, open, { skip: 0, length: 40 * 131072, highWaterMark: 65536 })
  const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve))
  stream.pause()
  await new Promise((r) => setTimeout(r, 50))
  t.ok(first.length > 0)
  t.ok(served < x.bytes.length / 4, `read ${served} of ${x.bytes.length} packed bytes while paused`)
  stream.resume()
  const rest = await buffer(stream)
  t.equal(first.length + rest.length, 40 * 131072)
})

t.test('LZ4 frames that store their blocks uncompressed, read in small pieces: every emitted buffer stays intact', async (t) => {
  // The reader decodes chunks that span received pieces from a reused scratch buffer; a stored
  // block decodes to a view of it, which must be copied before it is emitted.
  const chunks = [compressibleBytes(1000, 1), compressibleBytes(2000, 2), compressibleBytes(3001, 3)]
  const parts: Buffer[] = []
  const table: PlanChunk[] = []
  let offset = 0
  for (const c of chunks) {
    const frame = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x00]), Buffer.alloc(4), c, Buffer.alloc(4)])
    frame.writeUInt32LE((0x80000000 | c.length) >>> 0, 7)
    const header = Buffer.alloc(8)
    header.writeUIntLE(frame.length, 1, 3)
    header[4] = 1
    header.writeUIntLE(c.length, 5, 3)
    parts.push(header, frame)
    table.push({ unpackedLength: c.length, packedOffset: offset, packedLength: 8 + frame.length })
    offset += 8 + frame.length
  }
  const hex = 'a'.repeat(64)
  const { open } = store(new Map([[hex, Buffer.concat(parts)]]), 97)
  const total = chunks.reduce((s, c) => s + c.length, 0)
  const plan = planRange([{ xorbHash: hex, chunkStart: 0, chunkEnd: 3, unpackedBytes: total }], new Map([[hex, table]]), 0, total - 1)
  const got = await buffer(reconstructStream(plan, open, { skip: 0, length: total }))
  t.same(got, Buffer.concat(chunks))
})
