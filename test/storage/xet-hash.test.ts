import fs from 'node:fs'
import path from 'node:path'
import { createBLAKE3 } from 'hash-wasm'
import t from 'tap'
import { keyedBlake3Block } from '../../storage/formats/xet/blake3-block.js'
import {
  chunkHash,
  DATA_KEY,
  fileHash,
  hashFromHex,
  hashToHex,
  initXetHash,
  isDedupEligibleHash,
  isXetHashHex,
  keyedHash,
  truncatedHash,
  verificationHash,
  xorbHash,
} from '../../storage/formats/xet/hash.js'
import { FIXTURE_DIR, fixtureJson, makeData } from '../helpers/xet-fixtures.js'

const vectors = fixtureJson('hash-vectors.json')
const aggregated = fixtureJson('aggregated-hash-vectors.json')

t.test('functions refuse to run before initXetHash()', async (t) => {
  t.throws(() => chunkHash(Buffer.from('x')), /initXetHash/)
  t.throws(() => xorbHash([{ hash: Buffer.alloc(32), size: 1 }, { hash: Buffer.alloc(32), size: 1 }]), /initXetHash/)
  t.throws(() => verificationHash([]), /initXetHash/)
  t.throws(() => fileHash([{ hash: Buffer.alloc(32), size: 1 }]), /initXetHash/)
})


t.test('string form (docs/xet-protocol.md §0.3)', async (t) => {
  await initXetHash()
  await initXetHash() // idempotent
  for (const v of [vectors.string_form, vectors.string_form_docs_example]) {
    const raw = Buffer.from(v.raw_bytes)
    t.equal(hashToHex(raw), v.string)
    t.same(hashFromHex(v.string), raw)
    t.same(hashFromHex(v.string.toUpperCase()), raw, 'uppercase accepted on input')
  }
  t.ok(isXetHashHex('a'.repeat(64)))
  for (const bad of ['', 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), ' ' + 'a'.repeat(63), 'a'.repeat(64) + '\n', 42, null]) {
    t.notOk(isXetHashHex(bad), `rejects ${JSON.stringify(bad)}`)
    t.throws(() => hashFromHex(bad as string), TypeError)
  }
  t.throws(() => hashToHex(Buffer.alloc(31)), RangeError)
})

t.test('chunk hashes, xorb and file hash of makeData (docs/xet-protocol.md §7.2)', async (t) => {
  await initXetHash()
  const md = fixtureJson('makedata-200000-7-13.json')
  for (const c of vectors.make_data.cases) {
    const data = makeData(c.size, c.a, c.b)
    const leaves = []
    let off = 0
    for (const size of c.chunk_sizes as number[]) {
      leaves.push({ hash: chunkHash(data.subarray(off, off + size)), size })
      off += size
    }
    t.equal(hashToHex(xorbHash(leaves)), c.xorb_hash, `xorb hash of makeData(${c.size},${c.a},${c.b})`)
    t.equal(hashToHex(fileHash(leaves)), c.file_hash, `file hash of makeData(${c.size},${c.a},${c.b})`)
    if (c.size === 200000) {
      t.same(leaves.map((l) => hashToHex(l.hash)), md.chunks.map((x: any) => x.hash))
      t.equal(hashToHex(verificationHash(leaves.map((l) => l.hash))), md.verification_range_hash_chunks_0_2)
    }
  }
})

t.test('SplitMix64 1 MB chunk hashes', async (t) => {
  await initXetHash()
  const v = vectors.splitmix64_1mb
  const data = Buffer.alloc(1000000 + 8)
  let state = 0n
  const M = (1n << 64n) - 1n
  for (let o = 0; o < 1000000; o += 8) {
    state = (state + 0x9e3779b97f4a7c15n) & M
    let z = state
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M
    data.writeBigUInt64LE(z ^ (z >> 31n), o)
  }
  const bytes = data.subarray(0, 1000000)
  for (const [k, val] of Object.entries(v.check_bytes)) t.equal(bytes[Number(k)], val)
  let prev = 0
  const got = (v.chunk_end_offsets as number[]).map((end) => {
    const h = hashToHex(chunkHash(bytes.subarray(prev, end)))
    prev = end
    return h
  })
  t.same(got, v.chunk_hashes)
})

t.test('verification hash and HMAC vectors', async (t) => {
  await initXetHash()
  const vr = vectors.verification_range_hash
  t.equal(hashToHex(verificationHash(vr.chunk_hashes.map(hashFromHex))), vr.result)
  t.equal(hashToHex(verificationHash([])), hashToHex(Buffer.from(await blake3Keyed(Buffer.from([127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243, 164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195]), Buffer.alloc(0)))))
  t.throws(() => verificationHash([Buffer.alloc(31)]), RangeError)
  const hm = vectors.hmac
  t.equal(hashToHex(keyedHash(hashFromHex(hm.key), hashFromHex(hm.message))), hm.result)
  t.throws(() => keyedHash(Buffer.alloc(32), Buffer.alloc(33)), RangeError)
  t.throws(() => keyedHash(Buffer.alloc(31), Buffer.alloc(32)), RangeError)
  t.equal(hashToHex(fileHash([])), vectors.empty_file_hash, 'empty file → all zeros')
})

async function blake3Keyed(key: Uint8Array, msg: Uint8Array): Promise<Uint8Array> {
  const h = await createBLAKE3(256, key)
  h.init()
  h.update(msg)
  return h.digest('binary')
}

t.test('single-block keyed BLAKE3 matches hash-wasm for every length 0..64 and random keys', async (t) => {
  let seed = 7
  const rnd = (n: number) => Buffer.from(Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff))
  for (let len = 0; len <= 64; len++) {
    const key = rnd(32)
    const msg = rnd(len)
    t.same(keyedBlake3Block(key, msg), Buffer.from(await blake3Keyed(key, msg)), `length ${len}`)
  }
  t.same(keyedBlake3Block(DATA_KEY, Buffer.from('abc')), Buffer.from(await blake3Keyed(DATA_KEY, Buffer.from('abc'))))
  t.throws(() => keyedBlake3Block(Buffer.alloc(32), Buffer.alloc(65)), RangeError)
})

t.test('aggregated-hash-vectors.json: every xorb hash and salted file hash (72 values)', async (t) => {
  await initXetHash()
  let n = 0
  for (const [i, e] of (aggregated.entries as any[]).entries()) {
    const leaves = e.chunks.map((c: any) => ({ hash: hashFromHex(c.hash), size: c.size }))
    t.equal(hashToHex(xorbHash(leaves)), e.xorb_hash, `entry ${i} (${leaves.length} leaves): xorb hash`)
    n++
    for (const s of e.file_hashes_by_salt) {
      t.equal(hashToHex(fileHash(leaves, hashFromHex(s.salt))), s.file_hash, `entry ${i}: file hash, salt ${s.salt.slice(0, 8)}`)
      if (/^0+$/.test(s.salt)) t.equal(hashToHex(fileHash(leaves)), s.file_hash, `entry ${i}: default (zero) salt`)
      n++
    }
  }
  t.equal(n, 72)
})

t.test('hash-derived predicates', async (t) => {
  const h = Buffer.alloc(32)
  t.ok(isDedupEligibleHash(h))
  h[25] = 4
  t.ok(isDedupEligibleHash(h), '1024 | u64 when bits 0..9 are clear')
  h[25] = 1
  t.notOk(isDedupEligibleHash(h))
  h[25] = 0
  h[24] = 1
  t.notOk(isDedupEligibleHash(h))
  const k = Buffer.alloc(32)
  k.writeBigUInt64LE(0x0123456789abcdefn, 0)
  t.equal(truncatedHash(k), 0x0123456789abcdefn)
})

t.test('every fixture the README documents is in the repository, whole', async (t) => {
  // The data tests above read these files; a missing or truncated copy must fail here by name.
  const readme = fs.readFileSync(path.join(FIXTURE_DIR, 'README.md'), 'utf8')
  const documented = [...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!).sort()
  t.ok(documented.length >= 10, 'the README lists the fixtures')
  t.same(fs.readdirSync(FIXTURE_DIR).filter((n) => n !== 'README.md').sort(), documented, 'exactly the documented files')
  for (const name of documented) t.ok(fs.statSync(path.join(FIXTURE_DIR, name)).size > 0, `${name} is not empty`)
  const sizes: Record<string, number> = {
    'gpt2-64-8bits.tflite.shard': 102_104,
    'makedata-200000-7-13.lz4.xorb': 1363,
    'makedata-200000-7-13.bg4.xorb': 1392,
  }
  for (const [name, size] of Object.entries(sizes)) t.equal(fs.statSync(path.join(FIXTURE_DIR, name)).size, size, `${name} has its documented size`)
})
