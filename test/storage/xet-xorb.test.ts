import t from 'tap'
import { bg4Regroup, bg4RegroupInPlace, bg4Split, regroupJs } from '../../storage/formats/xet/bg4.js'
import { bg4RegroupWasm, bg4WasmAvailable } from '../../storage/formats/xet/bg4-wasm.js'
import { ByteQueue } from '../../storage/formats/xet/byte-queue.js'
import {
  checkChunkHeader,
  decodeChunkHeader,
  decodeChunkPayload,
  encodeChunk,
  encodeChunkHeader,
  encodeChunkPayload,
} from '../../storage/formats/xet/chunk-codec.js'
import { XetFormatError } from '../../storage/formats/xet/errors.js'
import { hashToHex, initXetHash } from '../../storage/formats/xet/hash.js'
import { buildXorb, MAX_XORB_BODY, verifyXorb, XorbVerifier } from '../../storage/formats/xet/xorb.js'
import { BufferSource, type ScannedChunk, verifyChunks, XorbScanner } from '../../storage/formats/xet/xorb-parts.js'
import { compressibleBytes, fixtureBytes, fixtureJson, makeData } from '../helpers/xet-fixtures.js'

const md = fixtureJson('makedata-200000-7-13.json')
const HASH = md.xorb_hash as string
const data = makeData(200000, 7, 13)
const lz4 = fixtureBytes('makedata-200000-7-13.lz4.xorb')
const bg4 = fixtureBytes('makedata-200000-7-13.bg4.xorb')
const footer = fixtureBytes('makedata-200000-7-13.lz4.footer-v1.xorb')
const OTHER = 'f'.repeat(64)

t.before(() => initXetHash())

t.test('BG4 split/regroup: spec example and every length mod 4', async (t) => {
  t.same([...bg4Split(Buffer.from([1, 2, 3, 4, 5, 6, 7]))], [1, 5, 2, 6, 3, 7, 4])
  t.same([...bg4Regroup(Buffer.from([1, 5, 2, 6, 3, 7, 4]))], [1, 2, 3, 4, 5, 6, 7])
  for (let n = 0; n < 40; n++) {
    const d = compressibleBytes(n, n + 1)
    t.same(bg4Regroup(bg4Split(d)), d, `length ${n}`)
  }
  const big = compressibleBytes(131071, 9)
  t.same(bg4Regroup(bg4Split(big)), big)
})

t.test('BG4 regroup: the SIMD and JS paths agree, in place or not, at every length mod 64', async (t) => {
  t.ok(bg4WasmAvailable, 'WebAssembly SIMD available on Node 20')
  const lengths = [...Array.from({ length: 140 }, (_, i) => i), 1000, 1001, 1002, 1003, 65535, 65536, 70001, 131069, 131070, 131071, 131072]
  for (const n of lengths) {
    const d = compressibleBytes(n, n + 5)
    const planes = bg4Split(d)
    const viaJs = Buffer.alloc(n)
    regroupJs(planes, viaJs)
    const viaWasm = Buffer.alloc(n)
    t.equal(bg4RegroupWasm(planes, viaWasm), true)
    if (!viaJs.equals(d) || !viaWasm.equals(d)) t.fail(`length ${n}: js ${viaJs.equals(d)}, wasm ${viaWasm.equals(d)}`)
    const copy = Buffer.from(planes)
    t.equal(bg4RegroupInPlace(copy), copy)
    if (!copy.equals(d)) t.fail(`length ${n}: in place`)
    // Unaligned views (the JS path's word loop needs a 4-byte aligned output).
    const host = Buffer.alloc(n + 3)
    planes.copy(host, 3)
    regroupJs(host.subarray(3), host.subarray(3))
    if (!host.subarray(3).equals(d)) t.fail(`length ${n}: unaligned`)
  }
  // Past the protocol's 128 KiB the SIMD path declines and the JS path takes over.
  const huge = compressibleBytes(200_003, 4)
  t.equal(bg4RegroupWasm(bg4Split(huge), Buffer.alloc(huge.length)), false)
  t.same(bg4Regroup(bg4Split(huge)), huge)
})

t.test('BG4 payload whose frame stores its block uncompressed: the caller bytes are not touched', async (t) => {
  const raw = compressibleBytes(1003, 8)
  const planes = bg4Split(raw)
  const frame = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]), Buffer.alloc(4), planes, Buffer.alloc(4)])
  frame.writeUInt32LE((0x80000000 | planes.length) >>> 0, 7)
  const before = Buffer.from(frame)
  t.same(decodeChunkPayload(2, frame, raw.length), raw)
  t.same(frame, before)
})

t.test('ByteQueue: look-ahead at any offset, transient takes, pieces of any size', async (t) => {
  const all = compressibleBytes(5000, 3)
  const q = new ByteQueue()
  let o = 0
  for (let i = 1; o < all.length; i = (i * 7) % 97 + 1) {
    q.push(all.subarray(o, o + i))
    o += i
  }
  t.equal(q.length, all.length)
  for (const off of [0, 1, 96, 97, 2000, 4999]) t.equal(q.at(off), all[off], `at(${off})`)
  t.equal(q.at(5000), undefined)
  for (const off of [0, 3, 500, 4990]) {
    const dst = Buffer.alloc(10)
    q.peek(dst, off)
    t.same(dst, all.subarray(off, off + 10), `peek at ${off}`)
  }
  const a = q.take(1500, true)
  t.same(a, all.subarray(0, 1500))
  t.equal(q.at(0), all[1500], 'offsets follow the front after a take')
  t.equal(q.at(2000), all[3500], 'look-ahead stays right after a take (cached position)')
  const kept = q.take(1500)
  t.same(kept, all.subarray(1500, 3000))
  const b = q.take(1500, true)
  t.same(b, all.subarray(3000, 4500))
  t.same(kept, all.subarray(1500, 3000), 'a non-transient take is not overwritten by a later transient one')
  t.same(q.take(500), all.subarray(4500))
  t.equal(q.length, 0)
  q.push(all.subarray(0, 10))
  t.equal(q.at(9), all[9], 'reused after being emptied')
  t.equal(q.consumed, 5000)
})

t.test('XorbVerifier: deferred decoding (the default) and synchronous decoding agree, errors stick', async (t) => {
  const big = buildXorb([compressibleBytes(70000, 1), compressibleBytes(3, 2), compressibleBytes(131072, 3), compressibleBytes(9000, 4)], 2)
  const hash = hashToHex(big.layout.hash)
  for (const deferDecode of [true, false]) {
    const v = new XorbVerifier({ deferDecode })
    for (let o = 0; o < big.bytes.length; o += 40000) {
      v.push(big.bytes.subarray(o, o + 40000))
      await Promise.resolve() // let the deferred work run between pieces, as between socket reads
    }
    t.same(v.finish(hash), big.layout, `deferDecode ${deferDecode}`)
  }
  // A chunk whose header is fine but whose payload does not decode.
  const bad = Buffer.from(big.bytes)
  bad.fill(0xee, 8, 12) // the first chunk's LZ4 frame magic
  const sync = new XorbVerifier({ deferDecode: false })
  t.throws(() => sync.push(bad), XetFormatError, 'synchronous: the push throws')
  t.throws(() => sync.finish(hash), XetFormatError, 'and the error sticks')
  const deferred = new XorbVerifier()
  const first = big.layout.chunks[0]!
  deferred.push(bad.subarray(0, first.packedLength))
  t.equal(deferred.chunkCount, 1, 'counted once complete')
  await Promise.resolve()
  t.throws(() => deferred.push(bad.subarray(first.packedLength)), /chunk 0 at byte 0: not an LZ4 frame/, 'deferred: the next push throws')
  t.throws(() => deferred.finish(hash), /chunk 0 at byte 0: not an LZ4 frame/, 'and finish too')
  const atFinish = new XorbVerifier()
  atFinish.push(bad)
  t.throws(() => atFinish.finish(hash), /chunk 0 at byte 0: not an LZ4 frame/, 'deferred: finish throws when no push follows')
  // Header problems still stop the push that completes the header.
  const badHeader = Buffer.from(big.bytes)
  badHeader[first.packedLength] = 9
  const h = new XorbVerifier()
  t.throws(() => h.push(badHeader), /chunk 1 at byte \d+: chunk header version 9/)
})

t.test('chunk header encode/decode and checks (docs/xet-protocol.md §3.1)', async (t) => {
  const h = encodeChunkHeader({ compressedLength: 0x123456, scheme: 2, uncompressedLength: 0x020000 })
  t.same([...h], [0, 0x56, 0x34, 0x12, 2, 0x00, 0x00, 0x02])
  t.same(decodeChunkHeader(h), { version: 0, compressedLength: 0x123456, scheme: 2, uncompressedLength: 131072 })
  t.throws(() => decodeChunkHeader(h.subarray(0, 7)), XetFormatError)
  const ok = { version: 0, compressedLength: 10, scheme: 1, uncompressedLength: 100 }
  t.doesNotThrow(() => checkChunkHeader(ok, 'c'))
  t.throws(() => checkChunkHeader({ ...ok, version: 1 }, 'c'), /version 1/)
  t.throws(() => checkChunkHeader({ ...ok, scheme: 3 }, 'c'), /scheme 3/)
  t.throws(() => checkChunkHeader({ ...ok, uncompressedLength: 0 }, 'c'), /uncompressed length 0/)
  t.throws(() => checkChunkHeader({ ...ok, uncompressedLength: 131073 }, 'c'), /131073/)
  t.throws(() => checkChunkHeader({ ...ok, compressedLength: 262145 }, 'c'), /262145/)
  t.throws(() => checkChunkHeader({ ...ok, scheme: 0 }, 'c'), /payload length 10/)
})

t.test('payload codecs round-trip for schemes 0, 1, 2 and reject garbage', async (t) => {
  for (const scheme of [0, 1, 2] as const) {
    for (const d of [data.subarray(0, 131072), compressibleBytes(5, 1), compressibleBytes(70001, 2), Buffer.from([7])]) {
      const p = encodeChunkPayload(scheme, d)
      t.same(decodeChunkPayload(scheme, p, d.length), d, `scheme ${scheme}, ${d.length} bytes`)
      t.throws(() => decodeChunkPayload(scheme, p, d.length + 1), XetFormatError, 'longer announced length')
      if (d.length > 1) t.throws(() => decodeChunkPayload(scheme, p, d.length - 1), XetFormatError, 'shorter announced length')
    }
    t.throws(() => decodeChunkPayload(scheme, Buffer.alloc(0), 10), XetFormatError, 'empty payload')
  }
  const p = encodeChunkPayload(1, data.subarray(0, 131072))
  t.throws(() => decodeChunkPayload(1, p.subarray(0, p.length - 5), 131072), XetFormatError, 'truncated frame')
  t.throws(() => decodeChunkPayload(1, Buffer.from('garbage garbage garbage'), 23), /not an LZ4 frame/)
  const bad = Buffer.from(p)
  bad[4] = 0x20 // FLG version 0
  t.throws(() => decodeChunkPayload(1, bad, 131072), /version/)
  t.throws(() => decodeChunkPayload(7, p, 131072), /unknown compression scheme 7/)
  // A frame with content size, block checksums, content checksum, an uncompressed block and a
  // skippable frame in front still decodes (any valid frame, docs/xet-protocol.md §3.2).
  const raw = Buffer.from('hello world, hello world')
  const frame = Buffer.concat([
    Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]),
    Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x7c, 0x40]),
    (() => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(raw.length)); return b })(),
    Buffer.from([0x00]),
    (() => { const b = Buffer.alloc(4); b.writeUInt32LE((0x80000000 | raw.length) >>> 0); return b })(),
    raw,
    Buffer.alloc(4),
    Buffer.alloc(4),
    Buffer.alloc(4),
  ])
  t.same(decodeChunkPayload(1, frame, raw.length), raw)
  t.throws(() => decodeChunkPayload(1, Buffer.concat([frame, Buffer.from([1])]), raw.length), XetFormatError, 'trailing junk')
  // Random garbage never crashes, always XetFormatError.
  let seed = 3
  for (let i = 0; i < 300; i++) {
    const g = compressibleBytes(1 + (i % 200), seed++)
    if (i % 2) Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x00]).copy(g)
    try {
      decodeChunkPayload(1 + (i % 2), g, 1000)
    } catch (err) {
      if (!(err instanceof XetFormatError)) t.fail(`unexpected ${String(err)}`)
    }
  }
  t.equal(encodeChunk(compressibleBytes(1000, 5), 1).scheme, 1)
  t.equal(encodeChunk(Buffer.from([1, 2, 3]), 1).scheme, 0, 'falls back to scheme 0 when not smaller')
  t.equal(encodeChunk(Buffer.from([1, 2, 3]), 1, true).scheme, 1, 'unless forced')
})

t.test('the fixture xorbs verify to f0755d96… (schemes 1, 2, V1 footer)', async (t) => {
  for (const [name, buf, scheme, ends] of [
    ['lz4', lz4, 1, md.xorbs['makedata-200000-7-13.lz4.xorb'].chunk_end_offsets],
    ['bg4', bg4, 2, md.xorbs['makedata-200000-7-13.bg4.xorb'].chunk_end_offsets],
    ['lz4+footer', footer, 1, md.xorbs['makedata-200000-7-13.lz4.xorb'].chunk_end_offsets],
  ] as const) {
    const l = verifyXorb(buf, HASH)
    t.equal(hashToHex(l.hash), HASH, name)
    t.equal(l.packedLength, ends[1], `${name}: footer excluded from packedLength`)
    t.equal(l.unpackedLength, 200000)
    t.same(
      l.chunks.map((c) => [hashToHex(c.hash), c.packedOffset, c.packedLength, c.unpackedOffset, c.unpackedLength, c.scheme]),
      [
        [md.chunks[0].hash, 0, ends[0], 0, 131072, scheme],
        [md.chunks[1].hash, ends[0], ends[1] - ends[0], 131072, 68928, scheme],
      ],
    )
    t.ok(verifyXorb(buf, HASH.toUpperCase()), 'uppercase path hash accepted')
  }
})

t.test('buildXorb reproduces the fixtures byte for byte and every scheme verifies', async (t) => {
  const chunks = [data.subarray(0, 131072), data.subarray(131072)]
  t.same(buildXorb(chunks, 1).bytes, lz4)
  t.same(buildXorb(chunks, 2).bytes, bg4)
  t.same(buildXorb(chunks, 1, { footer: true }).bytes, footer)
  for (const scheme of [0, 1, 2] as const) {
    const b = buildXorb(chunks, scheme)
    t.equal(hashToHex(b.layout.hash), HASH)
    t.same(verifyXorb(b.bytes, HASH), b.layout, `scheme ${scheme}`)
  }
  const mixed = [compressibleBytes(100, 1), compressibleBytes(131072, 2), Buffer.from([9]), compressibleBytes(4099, 3)]
  const b = buildXorb(mixed, 2)
  t.same(verifyXorb(b.bytes, hashToHex(b.layout.hash)), b.layout)
})

t.test('tampered xorbs are rejected with a precise XetFormatError', async (t) => {
  const reject = (buf: Buffer, hash: string, re: RegExp, what: string, limits = {}) => t.throws(() => verifyXorb(buf, hash, limits), re, what)
  reject(lz4, OTHER, /hashes to f0755d96.*not ffff/, 'another path hash')
  reject(lz4, 'xyz', /not 64 hex digits/, 'malformed path hash')
  for (let i = 40; i < lz4.length; i += 97) {
    const bad = Buffer.from(lz4)
    bad[i] = bad[i]! ^ 0x01
    t.throws(() => verifyXorb(bad, HASH), XetFormatError, `flipped byte ${i}`)
  }
  const v1 = Buffer.from(lz4)
  v1[0] = 1
  reject(v1, HASH, /chunk 0 at byte 0: chunk header version 1/, 'header version 1')
  const v2 = Buffer.from(lz4)
  v2[803] = 2
  reject(v2, HASH, /chunk 1 at byte 803: chunk header version 2/, 'second header version 2')
  for (const cut of [1, 7, 8, 500, 803 + 4, lz4.length - 1]) reject(lz4.subarray(0, cut), HASH, /truncated/, `truncated to ${cut}`)
  reject(Buffer.alloc(0), HASH, /no chunks/, 'empty body')
  reject(Buffer.concat([lz4, Buffer.from([0, 0])]), HASH, /truncated/, 'junk after the chunks')
  reject(Buffer.concat([lz4, Buffer.from('XETBLOBjunk')]), HASH, /footer length field/, 'footer with a wrong length')
  reject(Buffer.concat([lz4, Buffer.from('XETBLAB\x01\0\0\0\0')]), HASH, /not a chunk header nor a XETBLOB footer/, 'not a footer')
  reject(Buffer.from('XETBLOB\0\0\0\0'), HASH, /no chunks/, 'footer only')
  const longer = Buffer.from(footer)
  longer.writeUInt32LE(longer.readUInt32LE(longer.length - 4) + 1, longer.length - 4)
  reject(longer, HASH, /footer length field/, 'footer length off by one')
  reject(lz4, HASH, /more than 1 chunks/, 'too many chunks', { maxChunks: 1 })
  reject(lz4, HASH, /unpacks to more than 150000/, 'too many unpacked bytes', { maxUnpackedBytes: 150000 })
  reject(lz4, HASH, /exceeds 1000 bytes/, 'body too long', { maxBodyBytes: 1000 })
  reject(Buffer.concat([footer, Buffer.alloc(1)]), HASH, /footer longer than/, 'footer too long for the chunk limit', { maxChunks: 2, maxBodyBytes: 1e6 })
  t.ok(MAX_XORB_BODY > 64 * 1024 * 1024 && MAX_XORB_BODY < 65 * 1024 * 1024)
  // Oversized: the limits default to 8192 chunks / 64 MiB.
  const one = buildXorb([Buffer.from([1])], 0).bytes
  const many = Buffer.concat(Array.from({ length: 8193 }, () => one))
  t.throws(() => verifyXorb(many, OTHER), /more than 8192 chunks/)
})

t.test('XorbVerifier: any push split gives the one-shot result', async (t) => {
  const big = buildXorb([compressibleBytes(70000, 1), compressibleBytes(3, 2), compressibleBytes(131072, 3), compressibleBytes(9000, 4)], 2)
  const cases: [Buffer, string][] = [
    [lz4, HASH],
    [bg4, HASH],
    [footer, HASH],
    [big.bytes, hashToHex(big.layout.hash)],
  ]
  for (const [buf, hash] of cases) {
    const want = verifyXorb(buf, hash)
    for (const step of [1, 2, 3, 7, 8, 9, 100, 803, 1024, 65536]) {
      const v = new XorbVerifier()
      for (let o = 0; o < buf.length; o += step) v.push(buf.subarray(o, o + step))
      t.same(v.finish(hash), want, `${buf.length} bytes in pieces of ${step}`)
    }
    // random splits
    let s = 11
    for (let k = 0; k < 5; k++) {
      const v = new XorbVerifier()
      let o = 0
      while (o < buf.length) {
        s = (s * 1103515245 + 12345) >>> 0
        const n = 1 + (s % 3000)
        v.push(buf.subarray(o, o + n))
        o += n
      }
      t.same(v.finish(hash), want)
    }
  }
  // Errors surface at the first bad push and stick.
  const bad = Buffer.from(lz4)
  bad[0] = 5
  const v = new XorbVerifier()
  t.throws(() => v.push(bad.subarray(0, 8)), /version 5/)
  t.throws(() => v.push(bad.subarray(8)), /version 5/)
  t.throws(() => v.finish(HASH), /version 5/)
  const w = new XorbVerifier()
  w.push(lz4)
  t.equal(w.chunkCount, 2)
  t.equal(w.bytesReceived, lz4.length)
  t.throws(() => w.finish(OTHER), /not ffff/)
  const u = new XorbVerifier()
  u.push(lz4)
  t.equal(hashToHex(u.finish().hash), HASH, 'finish() without a hash computes it')
  t.throws(() => u.push(lz4), /after finish/)
})

t.test('xorb parts: the scanner finds the boundaries, verifyChunks any run of them gives the hashes', async (t) => {
  const chunks = Array.from({ length: 7 }, (_, i) => compressibleBytes(5000 + 3001 * i, 50 + i))
  const { bytes, layout } = buildXorb(chunks, 1)
  const scanner = new XorbScanner()
  const found: ScannedChunk[] = []
  const src = new BufferSource(bytes, 0)
  let pos = 0
  for (let o = 0; o < bytes.length; o += 1000) {
    const n = Math.min(1000, bytes.length - o)
    scanner.add(n)
    src.length += n
    pos = scanner.scan(src, pos, found)
  }
  t.equal(pos, bytes.length)
  t.same(found, layout.chunks.map(({ hash: _, ...c }) => c), 'same boundaries as the builder')
  // Chunks 2..5 as one run, as a worker gets them.
  const from = layout.chunks[2]!.packedOffset
  const to = layout.chunks[5]!.packedOffset + layout.chunks[5]!.packedLength
  const hashes = verifyChunks(bytes.subarray(from, to), 4, 2, from)
  t.same(Buffer.from(hashes), Buffer.concat(layout.chunks.slice(2, 6).map((c) => c.hash)))
  const bad = Buffer.from(bytes)
  const at = layout.chunks[4]!.packedOffset + 8
  bad[at] = bad[at]! ^ 0xff
  t.throws(() => verifyChunks(bad.subarray(from, to), 4, 2, from), { message: new RegExp(`^chunk 4 at byte ${layout.chunks[4]!.packedOffset}: not an LZ4 frame`) })
  t.throws(() => verifyChunks(bytes.subarray(from, to - 1), 4, 2, from), RangeError, 'a run cut short is a caller bug')
  t.throws(() => verifyChunks(bytes.subarray(from, to), 3, 2, from), RangeError, 'so are bytes after the run')
})
