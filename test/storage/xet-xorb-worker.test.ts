import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import { ContentStore } from '../../storage/blobs/content-store.js'
import { FsBlobDriver } from '../../storage/blobs/fs-blob-driver.js'
import { XetFormatError } from '../../storage/formats/xet/errors.js'
import { hashToHex, initXetHash } from '../../storage/formats/xet/hash.js'
import { killXorbWorkers, setXorbWorkersDisabled, startXorbCheck, type XorbCheck, xorbVerifyWorkers } from '../../storage/xet/xorb-verify-pool.js'
import { buildXorb, MAX_XORB_BODY, verifyXorb, XorbVerifier } from '../../storage/formats/xet/xorb.js'
import { compressibleBytes, fixtureBytes, fixtureJson } from '../helpers/xet-fixtures.js'

const HASH = fixtureJson('makedata-200000-7-13.json').xorb_hash as string
const lz4 = fixtureBytes('makedata-200000-7-13.lz4.xorb')
const bg4 = fixtureBytes('makedata-200000-7-13.bg4.xorb')
const footer = fixtureBytes('makedata-200000-7-13.lz4.footer-v1.xorb')
const OTHER = 'f'.repeat(64)

t.before(() => initXetHash())
t.teardown(() => setXorbWorkersDisabled(false))

/** Feeds `body` in `piece`-byte pieces, then finishes. */
async function check(c: XorbCheck, body: Buffer, hash: string, piece = 65536) {
  for (let o = 0; o < body.length; o += piece) await c.push(body.subarray(o, o + piece))
  return c.finish(hash)
}

/** The inline verifier's message for `body`, or null if it accepts it. */
function inlineMessage(body: Buffer, hash: string): string | null {
  try {
    verifyXorb(body, hash)
    return null
  } catch (err) {
    return (err as Error).message
  }
}

for (const mode of ['worker', 'inline'] as const) {
  t.test(`${mode}: valid xorbs give the same layout as verifyXorb`, async (t) => {
    setXorbWorkersDisabled(mode === 'inline')
    for (const [name, body] of [['lz4', lz4], ['bg4', bg4], ['footer', footer]] as const) {
      t.same(await check(startXorbCheck(), body, HASH, 1000), verifyXorb(body, HASH), name)
    }
    // More than one 1 MiB batch, and several uploads at once on the worker(s).
    const big = buildXorb(Array.from({ length: 24 }, (_, i) => compressibleBytes(131072 - i * 7, i)), 1)
    t.ok(big.bytes.length > 1024 * 1024, 'spans more than one 1 MiB batch')
    const hex = hashToHex(big.layout.hash)
    const layouts = await Promise.all([1, 2, 3].map(() => check(startXorbCheck(), big.bytes, hex)))
    for (const l of layouts) t.same(l, big.layout)
  })

  t.test(`${mode}: tampered xorbs are refused with the inline verifier's message`, async (t) => {
    setXorbWorkersDisabled(mode === 'inline')
    const cases: [string, Buffer, string][] = [['another hash', lz4, OTHER]]
    for (const i of [0, 40, 803, 900, lz4.length - 1]) {
      const bad = Buffer.from(lz4)
      bad[i] = bad[i]! ^ (i === 0 || i === 803 ? 0x02 : 0x01)
      cases.push([`flipped byte ${i}`, bad, HASH])
    }
    cases.push(['truncated', lz4.subarray(0, 500), HASH], ['empty', Buffer.alloc(0), HASH])
    for (const [name, body, hash] of cases) {
      const want = inlineMessage(body, hash)
      t.ok(want, `${name}: inline refuses it`)
      const err = await check(startXorbCheck(), body, hash, 777).then(
        () => null,
        (e: unknown) => e,
      )
      t.type(err, XetFormatError, name)
      t.equal((err as Error | null)?.message, want, `${name}: same message`)
    }
  })
}

t.test('worker: push asks the caller to wait when the worker is behind', async (t) => {
  setXorbWorkersDisabled(false)
  const big = buildXorb(Array.from({ length: 80 }, (_, i) => compressibleBytes(131072, 200 + i)), 0)
  const c = startXorbCheck()
  let waits = 0
  for (let o = 0; o < big.bytes.length; o += 65536) {
    const wait = c.push(big.bytes.subarray(o, o + 65536))
    if (wait) {
      waits++
      await wait
    }
  }
  t.ok(waits > 0, `push returned a promise ${waits} times`)
  t.same(await c.finish(hashToHex(big.layout.hash)), big.layout)
})

t.test('worker: a tampered xorb through putKeyed is refused and nothing is stored', async (t) => {
  setXorbWorkersDisabled(false)
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-xorb-worker-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  const store = new ContentStore(new FsBlobDriver(root, { fsync: false }))
  const put = async (body: Buffer, hash: string) => {
    const c = startXorbCheck()
    const pieces: Buffer[] = []
    for (let o = 0; o < body.length; o += 4096) pieces.push(body.subarray(o, o + 4096))
    await store.putKeyed('xorb', hash, Readable.from(pieces), {
      limit: MAX_XORB_BODY,
      verifier: {
        update: (b) => c.push(b),
        finish: async () => ({ keep: (await c.finish(hash)).packedLength }),
        abort: () => c.abort(),
      },
    })
  }
  const bad = Buffer.from(lz4)
  bad[900] = bad[900]! ^ 0x01
  const err = await put(bad, HASH).then(
    () => null,
    (e: unknown) => e,
  )
  t.type(err, XetFormatError)
  t.equal((err as Error).message, inlineMessage(bad, HASH))
  t.equal(await store.statKeyed('xorb', HASH), null, 'nothing stored')
  const tmpFiles = fs.readdirSync(path.join(root, 'tmp'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
  t.same(tmpFiles, [], 'no temp file left')
  // 10 MiB: more batches than the worker may hold, so update() makes putKeyed wait at times.
  const big = buildXorb(Array.from({ length: 80 }, (_, i) => compressibleBytes(131072, 100 + i)), 0)
  const bigHex = hashToHex(big.layout.hash)
  await put(big.bytes, bigHex)
  t.same(await store.statKeyed('xorb', bigHex), { size: big.bytes.length }, 'a big one is stored')
  await put(footer, HASH)
  t.same(await store.statKeyed('xorb', HASH), { size: verifyXorb(footer, HASH).packedLength }, 'a good one is stored, footer dropped')
})

// ── One xorb split over several workers: chunk-aligned ~1 MiB batches, boundaries and the merkle
// root on the main thread. Xorbs of several MiB so that batches are in flight on every worker. ──

/** ~6.5 MiB unpacked in 96 chunks of 8–128 KiB (every 5th uncompressible, so scheme 0 appears too). */
function bigXorb(scheme: 0 | 1 | 2, seed: number, footerV1 = false) {
  const chunks = Array.from({ length: 96 }, (_, i) => {
    const n = 8192 + ((i * 40503 + seed * 7919) % (131072 - 8192))
    if (i % 5 !== 4) return compressibleBytes(n, seed * 1000 + i)
    const b = Buffer.allocUnsafe(n)
    let r = seed * 1000 + i + 1
    for (let k = 0; k < n; k++) {
      r ^= r << 13
      r ^= r >>> 17
      r ^= r << 5
      b[k] = r
    }
    return b
  })
  const x = buildXorb(chunks, scheme, { footer: footerV1 })
  return { ...x, hex: hashToHex(x.layout.hash) }
}

/** The streaming inline verifier's message (pushing `piece`-byte pieces), or null. */
function streamedMessage(body: Buffer, hash: string, piece = 65536): string | null {
  try {
    const v = new XorbVerifier()
    for (let o = 0; o < body.length; o += piece) v.push(body.subarray(o, o + piece))
    v.finish(hash)
    return null
  } catch (err) {
    return (err as Error).message
  }
}

const flip = (b: Buffer, i: number, mask: number) => (b[i] = b[i]! ^ mask)

const settle = (p: Promise<unknown>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e: e as Error }),
  )

t.test('split: valid xorbs of every scheme, with and without a V1 footer, verify on several workers', async (t) => {
  setXorbWorkersDisabled(false)
  const xs = [bigXorb(0, 1), bigXorb(1, 2), bigXorb(2, 3), bigXorb(1, 4, true), bigXorb(2, 5, true)]
  t.same(new Set(xs.flatMap((x) => x.layout.chunks.map((c) => c.scheme))), new Set([0, 1, 2]), 'schemes 0, 1 and 2 all used')
  for (const [i, x] of xs.entries()) {
    t.ok(x.bytes.length > 2.5 * 1024 * 1024, `xorb ${i} spans several batches`)
    for (const piece of [65536, 100_003]) t.same(await check(startXorbCheck(), x.bytes, x.hex, piece), verifyXorb(x.bytes, x.hex), `xorb ${i}, ${piece}-byte pieces`)
  }
  const { size, running } = xorbVerifyWorkers()
  t.ok(size >= 1 && size <= 4, `pool of ${size}`)
  t.ok(running >= Math.min(2, size), `${running} workers used for one xorb's batches`)
})

t.test('split: bad xorbs are refused with the inline verifier\'s message', async (t) => {
  setXorbWorkersDisabled(false)
  const x = bigXorb(1, 6)
  const cs = x.layout.chunks
  const mid = cs.findIndex((c) => c.scheme === 1 && c.packedOffset > 2 * 1024 * 1024)
  const raw = cs.findIndex((c) => c.scheme === 0 && c.packedOffset > 1536 * 1024)
  t.ok(mid > 0 && raw > 0, `chunks ${mid} (LZ4) and ${raw} (none) lie in later batches`)
  const edit = (f: (b: Buffer) => void) => {
    const b = Buffer.from(x.bytes)
    f(b)
    return b
  }
  const c = cs[mid]!
  const r = cs[raw]!
  const one = buildXorb([Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])], 0).bytes
  const cases: [string, Buffer, string, RegExp][] = [
    ['LZ4 frame broken in the middle', edit((b) => flip(b, c.packedOffset + 8, 0xff)), x.hex, new RegExp(`^chunk ${mid} at byte ${c.packedOffset}: not an LZ4 frame`)],
    ['uncompressed payload byte changed', edit((b) => flip(b, r.packedOffset + 100, 1)), x.hex, /^xorb content hashes to [0-9a-f]{64}, not /],
    ['another xorb hash', x.bytes, OTHER, /^xorb content hashes to .* not f{64}$/],
    ['truncated inside a chunk', x.bytes.subarray(0, c.packedOffset + 5000), x.hex, /^xorb truncated: 5000 trailing bytes at byte \d+/],
    ['truncated at a chunk boundary', x.bytes.subarray(0, c.packedOffset), x.hex, /^xorb content hashes to/],
    ['header lies about the unpacked length', edit((b) => b.writeUIntLE(c.unpackedLength - 1, c.packedOffset + 5, 3)), x.hex, new RegExp(`^chunk ${mid} at byte ${c.packedOffset}: `)],
    ['uncompressed header lies about its length', edit((b) => b.writeUIntLE(r.unpackedLength - 1, r.packedOffset + 5, 3)), x.hex, new RegExp(`^chunk ${raw} at byte ${r.packedOffset}: uncompressed chunk with payload length`)],
    ['header version 3 in the middle', edit((b) => (b[c.packedOffset] = 3)), x.hex, new RegExp(`^chunk ${mid} at byte ${c.packedOffset}: chunk header version 3`)],
    ['junk after the chunks', Buffer.concat([x.bytes, Buffer.from([0, 0, 0])]), x.hex, /^xorb truncated: 3 trailing bytes/],
    ['a footer with a wrong length', Buffer.concat([x.bytes, Buffer.from('XETBLOBjunk')]), x.hex, /footer length field/],
    ['too many chunks', Buffer.concat(Array.from({ length: 8193 }, () => one)), OTHER, /^xorb has more than 8192 chunks$/],
  ]
  for (const [name, body, hash, re] of cases) {
    const want = inlineMessage(body, hash)
    t.match(want, re, `${name}: inline message: ${want?.slice(0, 90)}`)
    t.equal(streamedMessage(body, hash), want, `${name}: streamed inline agrees`)
    for (const piece of [65536, 333_333]) {
      const got = await settle(check(startXorbCheck(), body, hash, piece))
      t.notOk(got.ok, `${name}: refused`)
      if (!got.ok) {
        t.type(got.e, XetFormatError, `${name}: XetFormatError`)
        t.equal(got.e.message, want, `${name}, ${piece}-byte pieces: same message`)
      }
    }
  }
})

t.test('split: two uploads interleaved piece by piece share the workers', async (t) => {
  setXorbWorkersDisabled(false)
  const a = bigXorb(1, 7)
  const b = bigXorb(2, 8)
  const bad = Buffer.from(b.bytes)
  const k = b.layout.chunks.findIndex((c) => c.scheme === 2 && c.packedOffset > 2 * 1024 * 1024)
  flip(bad, b.layout.chunks[k]!.packedOffset + 8, 0xff)
  const want = inlineMessage(bad, b.hex)
  t.ok(want)
  for (const [name, second, secondOk] of [['two good ones', b.bytes, true], ['a good one and a bad one', bad, false]] as const) {
    const ca = startXorbCheck()
    const cb = startXorbCheck()
    let bFailure: Error | null = null
    for (let o = 0; o < Math.max(a.bytes.length, second.length); o += 65536) {
      if (o < a.bytes.length) await ca.push(a.bytes.subarray(o, o + 65536))
      if (o < second.length && !bFailure) {
        try {
          await cb.push(second.subarray(o, o + 65536))
        } catch (err) {
          bFailure = err as Error
          cb.abort()
        }
      }
    }
    const [ra, rb] = await Promise.all([settle(ca.finish(a.hex)), bFailure ? Promise.resolve({ ok: false as const, e: bFailure }) : settle(cb.finish(b.hex))])
    t.same(ra.ok && ra.v, a.layout, `${name}: the first verifies`)
    if (secondOk) t.same(rb.ok && rb.v, b.layout, `${name}: the second verifies`)
    else t.equal(!rb.ok && rb.e.message, want, `${name}: the second is refused with the inline message`)
  }
})

t.test('split: abort mid-way drops the outstanding batches; the next upload works', async (t) => {
  setXorbWorkersDisabled(false)
  const x = bigXorb(1, 9)
  const half = Math.floor(x.bytes.length / 2)
  const c = startXorbCheck()
  for (let o = 0; o < half; o += 65536) await c.push(x.bytes.subarray(o, Math.min(o + 65536, half)))
  c.abort()
  t.throws(() => c.push(x.bytes.subarray(half)), /after finish/, 'no push after abort')
  // A bad one aborted while its failing batch is still at a worker: the late failure goes nowhere.
  const bad = Buffer.from(x.bytes)
  flip(bad, x.layout.chunks[3]!.packedOffset + 8, 0xff)
  const d = startXorbCheck()
  for (let o = 0; o < half; o += 65536) {
    const p = d.push(bad.subarray(o, Math.min(o + 65536, half)))
    if (p) break
  }
  d.abort()
  await new Promise((r) => setTimeout(r, 200))
  t.same(await check(startXorbCheck(), x.bytes, x.hex), x.layout, 'a new upload of the same xorb verifies')
  t.equal(await settle(check(startXorbCheck(), x.bytes, OTHER)).then((r) => !r.ok && r.e.message), inlineMessage(x.bytes, OTHER), 'and a wrong hash is still refused')
})

t.test('split: a worker dying fails the uploads it had batches of; the pool starts new ones', async (t) => {
  setXorbWorkersDisabled(false)
  const x = bigXorb(2, 10)
  const c = startXorbCheck()
  // Several MiB pushed in one go, the kill in the same tick: batches are at the workers.
  const cut = x.bytes.length - 1000
  const first = c.push(x.bytes.subarray(0, cut))
  const killed = killXorbWorkers()
  const rest = async () => {
    await first
    await killed
    await c.push(x.bytes.subarray(cut))
    return c.finish(x.hex)
  }
  const finished = await settle(rest())
  t.notOk(finished.ok, 'the upload fails')
  t.match(!finished.ok && finished.e.message, /xorb verification worker exited/, 'with the death as the reason')
  t.notOk(!finished.ok && finished.e instanceof XetFormatError, 'not blamed on the xorb')
  t.same(await check(startXorbCheck(), x.bytes, x.hex), x.layout, 'the next upload verifies on new workers')
})
