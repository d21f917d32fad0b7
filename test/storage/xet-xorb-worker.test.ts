import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import { FsBlobStore } from '../../storage/blobs/fs-blob-store.js'
import { XetFormatError } from '../../storage/formats/xet/errors.js'
import { hashToHex, initXetHash } from '../../storage/formats/xet/hash.js'
import { setXorbWorkersDisabled, startXorbCheck, type XorbCheck } from '../../storage/xet/xorb-verify-pool.js'
import { buildXorb, MAX_XORB_BODY, verifyXorb } from '../../storage/formats/xet/xorb.js'
import { compressibleBytes, fixtureBytes, fixtureJson } from './xet-fixtures.js'

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
  const store = new FsBlobStore(root, { fsync: false })
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
