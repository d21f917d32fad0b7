import t from 'tap'
import { XetFormatError } from '../../storage/formats/xet/errors.js'
import { hashFromHex, hashToHex, initXetHash, keyedHash } from '../../storage/formats/xet/hash.js'
import { buildDedupShard, buildShard, parseDedupShard, parseShard, swapHashGroups, type ShardFile } from '../../storage/formats/xet/shard.js'
import { verifyShardFile } from '../../storage/formats/xet/shard-verify.js'
import { fixtureBytes, fixtureJson } from '../helpers/xet-fixtures.js'

const md = fixtureJson('makedata-200000-7-13.json')
const upload = fixtureBytes('makedata-200000-7-13.upload.shard')
const jsShard = fixtureBytes('makedata-200000-7-13.upload-js-footer.shard')
const prod = fixtureBytes('gpt2-64-8bits.tflite.shard')
const prodJson = fixtureJson('gpt2-64-8bits.tflite.shard.json')
const vectors = fixtureJson('hash-vectors.json')

t.before(() => initXetHash())

const xorbChunks = md.chunks.map((c: any) => ({ hash: hashFromHex(c.hash), unpackedLength: c.size }))
const table = (hex: string) => (hex === md.xorb_hash ? xorbChunks : undefined)
const fileInput = (over: Partial<{ verification: Buffer; unpackedBytes: number; fileHash: Buffer }> = {}) => ({
  fileHash: over.fileHash ?? hashFromHex(md.file_hash),
  terms: [
    {
      xorbHash: hashFromHex(md.xorb_hash),
      chunkStart: 0,
      chunkEnd: 2,
      unpackedBytes: over.unpackedBytes ?? 200000,
      verification: over.verification ?? hashFromHex(md.verification_range_hash_chunks_0_2),
    },
  ],
  sha256: hashFromHex(md.file.sha256),
})

t.test('both upload fixtures parse to the makeData file and xorb', async (t) => {
  for (const [name, buf] of [['hf_xet', upload], ['js', jsShard]] as const) {
    const s = parseShard(buf, { requireVerification: true })
    t.equal(s.files.length, 1, name)
    const f = s.files[0]!
    t.equal(hashToHex(f.fileHash), md.file_hash)
    t.equal(f.terms.length, 1)
    const term = f.terms[0]!
    t.equal(hashToHex(term.xorbHash), md.xorb_hash)
    t.same([term.chunkStart, term.chunkEnd, term.unpackedBytes], [0, 2, 200000])
    t.equal(hashToHex(term.verification!), md.verification_range_hash_chunks_0_2)
    t.equal(hashToHex(f.sha256!), md.file.sha256, 'sha256 string form = ordinary digest')
    t.equal(f.sha256!.toString('hex'), md.sha256_as_stored_in_shard_hex_bytes, 'raw bytes as stored')
    t.same(swapHashGroups(f.sha256!).toString('hex'), md.file.sha256)
    t.equal(s.xorbs.length, 1)
    const x = s.xorbs[0]!
    t.equal(hashToHex(x.xorbHash), md.xorb_hash)
    t.equal(x.unpackedLength, 200000)
    t.equal(x.packedLength, name === 'js' ? 1363 : 0)
    t.same(
      x.chunks.map((c) => [hashToHex(c.hash), c.unpackedOffset, c.unpackedLength, c.flags]),
      md.chunks.map((c: any) => [c.hash, c.offset, c.size, 0]),
    )
    t.same(verifyShardFile(f, table).size, 200000, `${name}: verifies against the stored xorb`)
    if (name === 'js') {
      t.equal(s.footer!.version, 1)
      t.equal(s.footer!.xorbInfoOffset, 288)
      t.equal(s.footer!.fileLookupOffset, 0)
      t.equal(s.footer!.storedBytes, 200000)
    } else t.notOk(s.footer)
  }
})

t.test('buildShard reproduces both fixtures byte for byte', async (t) => {
  const xorb = { xorbHash: hashFromHex(md.xorb_hash), chunks: xorbChunks }
  t.same(buildShard({ files: [fileInput()], xorbs: [xorb] }), upload)
  t.same(buildShard({ files: [fileInput()], xorbs: [{ ...xorb, packedLength: 1363 }] }, { layout: 'js', createdAt: 0x67748580 }), jsShard)
})

t.test('verification against the store rejects altered shards', async (t) => {
  const check = (f: ShardFile) => verifyShardFile(f, table)
  const reparse = (input: ReturnType<typeof fileInput>) => parseShard(buildShard({ files: [input], xorbs: [] })).files[0]!
  t.throws(() => check(reparse(fileInput({ verification: Buffer.alloc(32, 1) }))), /wrong verification hash/)
  t.throws(() => check(reparse(fileInput({ unpackedBytes: 199999 }))), /declares 199999 bytes, the chunks hold 200000/)
  t.throws(() => check(reparse(fileInput({ fileHash: Buffer.alloc(32, 2) }))), /does not produce this hash/)
  t.throws(() => verifyShardFile(parseShard(upload).files[0]!, () => undefined), /is not stored/)
  const tooFar = parseShard(upload).files[0]!
  tooFar.terms[0]!.chunkEnd = 3
  t.throws(() => check(tooFar), /outside xorb/)
  const unverified = parseShard(upload).files[0]!
  delete unverified.terms[0]!.verification
  t.throws(() => check(unverified), /no verification hash/)
  t.equal(verifyShardFile(unverified, table, { allowUnverified: true }).size, 200000)
  // Byte-level tampering of the fixture: verification hash (file section record 2), segment size, file hash.
  for (const [at, what] of [[48 + 96, 'verification'], [48 + 48 + 36, 'segment size'], [48, 'file hash']] as const) {
    const bad = Buffer.from(upload)
    bad[at] = bad[at]! ^ 0x10
    t.throws(() => check(parseShard(bad).files[0]!), XetFormatError, `altered ${what}`)
  }
  // The empty file: no terms, all-zero hash; anything else is refused.
  t.equal(verifyShardFile({ fileHash: Buffer.alloc(32), terms: [] }, table).size, 0)
  t.throws(() => verifyShardFile({ fileHash: Buffer.alloc(32, 1), terms: [] }, table), /does not produce this hash/)
})

t.test('structural problems throw XetFormatError', async (t) => {
  const bad = (buf: Buffer, re: RegExp, what: string) => t.throws(() => parseShard(buf), re, what)
  const tag = Buffer.from(upload)
  tag[3] = tag[3]! ^ 1
  bad(tag, /bad header tag/, 'tag')
  const ver = Buffer.from(upload)
  ver[32] = 3
  bad(ver, /header version 3/, 'version')
  const fs = Buffer.from(upload)
  fs[40] = 100
  bad(fs, /footer_size 100/, 'footer size')
  for (const cut of [0, 20, 47, 48, 100, 200, upload.length - 48, upload.length - 1]) bad(upload.subarray(0, cut), /truncated/, `truncated to ${cut}`)
  const overrun = Buffer.from(upload)
  overrun.writeUInt32LE(0xffffffff, 48 + 36) // file num_entries
  bad(overrun, /count overruns/, 'file term count overruns')
  const xorbOverrun = Buffer.from(upload)
  const xorbHeaderAt = 48 + 48 * 5
  xorbOverrun.writeUInt32LE(1000, xorbHeaderAt + 36)
  bad(xorbOverrun, /count overruns/, 'xorb chunk count overruns')
  const empty = Buffer.from(upload)
  empty.writeUInt32LE(2, 48 + 48 + 40) // chunk_index_start = 2 = end
  bad(empty, /empty chunk range \[2, 2\)/, 'empty term')
  const jsBad = Buffer.from(jsShard)
  jsBad[jsShard.length - 200] = 2
  bad(jsBad, /footer version 2/, 'footer version')
  t.throws(() => parseShard(upload, { maxBytes: 100 }), /more than 100/)
  // Only one of two files carries verification entries.
  const second = { fileHash: Buffer.alloc(32, 9), terms: [{ xorbHash: hashFromHex(md.xorb_hash), chunkStart: 0, chunkEnd: 1, unpackedBytes: 131072 }] }
  bad(buildShard({ files: [fileInput(), second], xorbs: [] }), /mixes files with and without verification/, 'mixed verification')
  bad(buildShard({ files: [second, fileInput()], xorbs: [] }), /mixes files with and without verification/, 'mixed verification, other order')
  t.throws(() => parseShard(buildShard({ files: [second], xorbs: [] }), { requireVerification: true }), /no verification entries/)
  t.equal(parseShard(buildShard({ files: [second], xorbs: [] })).files[0]!.terms[0]!.verification, undefined)
  // An empty file next to verified ones is fine (it has no terms to verify).
  const s = parseShard(buildShard({ files: [{ fileHash: Buffer.alloc(32), terms: [] }, fileInput()], xorbs: [] }), { requireVerification: true })
  t.equal(s.files.length, 2)
  // Lookup tables between the xorb bookend and the footer (hf_xet < 1.3) are skipped.
  const withTables = Buffer.concat([jsShard.subarray(0, jsShard.length - 200), Buffer.alloc(12 * 3, 7), jsShard.subarray(jsShard.length - 200)])
  t.equal(parseShard(withTables).files.length, 1)
})

t.test('production dedup answer: parse, HMAC vector, byte-exact rebuild', async (t) => {
  const d = parseDedupShard(prod)
  t.equal(hashToHex(d.hmacKey), prodJson.hmac_key)
  t.equal(d.createdAt, 0x688cd481)
  t.equal(d.keyExpiry, 0x688cd481 + 604800)
  t.same(d.xorbs.map((x) => x.chunks.length), [933, 1062, 122])
  t.same(
    d.xorbs.map((x) => ({ hash: hashToHex(x.xorbHash), chunk_hashes: x.chunks.map((c) => hashToHex(c.hash)) })),
    prodJson.xorbs,
  )
  t.ok(d.xorbs.every((x) => x.packedLength === 0 && x.chunks.every((c) => c.flags === 0)))
  const v = vectors.dedup_shard_hmac
  t.equal(v.footer_hmac_key, prodJson.hmac_key)
  t.same(keyedHash(hashFromHex(v.footer_hmac_key), hashFromHex(v.raw_chunk_hash)), d.xorbs[1]!.chunks[0]!.hash)
  const full = parseShard(prod)
  t.same(full.files, [])
  t.equal(full.footer!.fileLookupOffset, full.footer!.footerOffset)
  t.equal(full.footer!.chunkLookupCount, 0)
  const rebuilt = buildDedupShard({ xorbs: d.xorbs, hmacKey: d.hmacKey, createdAt: d.createdAt, keyExpiry: d.keyExpiry, chunkHashesKeyed: true })
  t.same(rebuilt, prod, 'round-trips byte for byte')
})

t.test('buildDedupShard keys raw chunk hashes and sets the footer the clients read', async (t) => {
  const key = Buffer.alloc(32, 0xab)
  const xorbs = [
    { xorbHash: hashFromHex(md.xorb_hash), chunks: xorbChunks, packedLength: 1363 },
    { xorbHash: Buffer.alloc(32, 5), chunks: [{ hash: Buffer.alloc(32, 6), unpackedLength: 10 }] },
  ]
  const before = Math.floor(Date.now() / 1000)
  for (const buf of [buildDedupShard({ xorbs, hmacKey: key }), buildDedupShard(xorbs, { hmacKey: key })]) {
    const s = parseShard(buf)
    const f = s.footer!
    t.same(f.hmacKey, key)
    t.ok(f.createdAt >= before)
    t.equal(f.keyExpiry, f.createdAt + 604800)
    t.equal(f.fileLookupOffset, s.xorbSectionEnd)
    t.equal(f.xorbLookupOffset, f.footerOffset)
    t.equal(f.footerOffset, buf.length - 200)
    t.equal(f.storedBytes, 200010)
    const d = parseDedupShard(buf)
    t.same(d.xorbs[0]!.chunks.map((c) => c.hash), xorbChunks.map((c: any) => keyedHash(key, c.hash)))
    t.same(d.xorbs[0]!.chunks.map((c) => c.unpackedOffset), [0, 131072])
    t.equal(d.xorbs[0]!.packedLength, 1363)
  }
  t.throws(() => buildDedupShard({ xorbs, hmacKey: Buffer.alloc(31) }), RangeError)
  t.throws(() => parseDedupShard(upload), /no footer/)
  t.throws(() => parseDedupShard(jsShard), /lists 1 files/)
})
