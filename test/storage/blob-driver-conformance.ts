import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { ContentStore } from '../../storage/blobs/content-store.js'
import type { BlobDriver } from '../../storage/blobs/blob-driver.js'
import { BlobNotFoundError } from '../../storage/blobs/blob-store.js'
import { XetBackedBlobStore } from '../../storage/xet/xet-blob-store.js'
import { blobStoreConformance, readAll, rejectionOf, sentBytes } from './blob-store-conformance.js'

/**
 * Everything a storage driver must pass: the driver contract itself, then the content store and
 * the Xet-backed store every LFS path uses, both over that driver. A new driver's test file is
 * this call with a factory of fresh, empty drivers.
 */
export function storageConformance(t: Test, makeDriver: () => Promise<BlobDriver>): void {
  t.test('driver', (t) => blobDriverConformance(t, makeDriver))
  t.test('content store over the driver', async (t) => blobStoreConformance(t, async () => new ContentStore(await makeDriver())))
  t.test('content store over the driver without its optional capabilities', async (t) =>
    blobStoreConformance(t, async () => new ContentStore(requiredOnly(await makeDriver()))),
  )
  t.test('Xet-backed store over the driver', async (t) =>
    blobStoreConformance(t, async () => new XetBackedBlobStore(new ContentStore(await makeDriver()), { fileOf: () => undefined, readObject: async () => null })),
  )
}

/** `d` with only the methods every driver has (the content store's paths for a driver like S3). */
export function requiredOnly(d: BlobDriver): BlobDriver {
  return {
    stat: (k) => d.stat(k),
    read: (k, r) => d.read(k, r),
    createWriter: (k, o) => d.createWriter(k, o),
    delete: (k) => d.delete(k),
    list: (p) => d.list(p),
  }
}

/** Writes `parts` as the object `key` through a temp object and commits it. */
export async function writeObject(driver: BlobDriver, key: string, parts: Buffer[], keep?: number): Promise<void> {
  const w = await driver.createWriter(key)
  for (const p of parts) await w.write([p])
  await w.end(keep)
  await w.commit()
}

async function listed(driver: BlobDriver, prefix: string): Promise<[string, number][]> {
  const out: [string, number][] = []
  for await (const o of driver.list(prefix)) out.push([o.key, o.size])
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1))
}

/** The narrow contract of storage/blobs/blob-driver.ts: temp → commit or abort, stat, ranged read, delete, list. */
export async function blobDriverConformance(t: Test, makeDriver: () => Promise<BlobDriver>): Promise<void> {
  const probe = await makeDriver()
  // More than the fs driver's 1 MiB buffers, and not a multiple of them.
  const big = randomBytes(2 * 1024 * 1024 + 5)

  t.test('an object is invisible until committed, then read whole and by range', async (t) => {
    const d = await makeDriver()
    t.equal(await d.stat('a/b/obj'), null, 'absent before')
    const w = await d.createWriter('a/b/obj')
    await w.write([big.subarray(0, 1000), big.subarray(1000, 70_000)])
    await w.write([big.subarray(70_000)])
    t.equal(await d.stat('a/b/obj'), null, 'written, not committed')
    await w.end()
    t.equal(await d.stat('a/b/obj'), null, 'ended, not committed')
    await w.commit()
    t.same(await d.stat('a/b/obj'), { size: big.length })
    t.ok((await readAll(await d.read('a/b/obj'))).equals(big), 'whole')
    for (const [start, end] of [
      [0, 0],
      [1024 * 1024 - 2, 1024 * 1024 + 2],
      [big.length - 1, big.length - 1],
    ] as const) {
      t.ok((await readAll(await d.read('a/b/obj', { start, end }))).equals(big.subarray(start, end + 1)), `range ${start}-${end}`)
    }
    t.ok((await readAll(await d.read('a/b/obj', { start: 5, end: big.length + 100 }))).equals(big.subarray(5)), 'a range past the end stops at the end')
    if (d.openRange) {
      t.ok((await sentBytes(await d.openRange('a/b/obj', { start: 3, end: big.length - 2 }))).equals(big.subarray(3, -1)), 'openRange')
      t.type(await rejectionOf(d.openRange('a/b/none', { start: 0, end: 0 })), BlobNotFoundError, 'openRange of an absent object')
    }
  })

  t.test('the empty object, and end(length) keeping a prefix', async (t) => {
    const d = await makeDriver()
    await writeObject(d, 'empty', [])
    t.same(await d.stat('empty'), { size: 0 })
    t.equal((await readAll(await d.read('empty'))).length, 0)
    await writeObject(d, 'x/prefix', [Buffer.from('hello, '), Buffer.from('world')], 5)
    t.same(await d.stat('x/prefix'), { size: 5 })
    t.equal((await readAll(await d.read('x/prefix'))).toString(), 'hello')
  })

  t.test('abort leaves nothing, at any point and twice', async (t) => {
    const d = await makeDriver()
    const early = await d.createWriter('gone/early')
    await early.abort()
    await early.abort()
    const written = await d.createWriter('gone/written')
    await written.write([big])
    await written.abort()
    const ended = await d.createWriter('gone/ended')
    await ended.write([Buffer.from('x')])
    await ended.end()
    await ended.abort()
    t.same(await listed(d, ''), [], 'nothing listed')
    for (const k of ['gone/early', 'gone/written', 'gone/ended']) t.equal(await d.stat(k), null, k)
  })

  t.test('commit replaces an object; delete removes it (absent is fine)', async (t) => {
    const d = await makeDriver()
    await writeObject(d, 'k/v', [Buffer.from('one')])
    await writeObject(d, 'k/v', [Buffer.from('second')])
    t.equal((await readAll(await d.read('k/v'))).toString(), 'second')
    await d.delete('k/v')
    t.equal(await d.stat('k/v'), null)
    t.type(await rejectionOf(d.read('k/v')), BlobNotFoundError)
    await d.delete('k/v')
    await d.delete('never/there')
    await writeObject(d, 'k/v', [Buffer.from('again')])
    t.same(await d.stat('k/v'), { size: 5 }, 'written again after a delete')
  })

  t.test('list by prefix', async (t) => {
    const d = await makeDriver()
    await writeObject(d, 'staging/u1/upload', [Buffer.from('10')])
    await writeObject(d, 'staging/u1/part-0', [Buffer.from('01234')])
    await writeObject(d, 'staging/u1/part-5', [Buffer.from('567')])
    await writeObject(d, 'staging/u2/part-0', [Buffer.from('x')])
    await writeObject(d, 'sha256/ab/cd/abcd', [Buffer.from('blob')])
    const pending = await d.createWriter('staging/u1/part-8')
    await pending.write([Buffer.from('89')])
    t.same(await listed(d, 'staging/u1/part-'), [
      ['staging/u1/part-0', 5],
      ['staging/u1/part-5', 3],
    ], 'a partial last segment filters names; temp objects are not listed')
    t.same(await listed(d, 'staging/u1/'), [
      ['staging/u1/part-0', 5],
      ['staging/u1/part-5', 3],
      ['staging/u1/upload', 2],
    ])
    t.same((await listed(d, 'staging/')).length, 4, 'nested')
    t.same(await listed(d, 'staging/u3/'), [], 'an unknown prefix')
    t.same(await listed(d, 'sha256/ab/cd/abcd'), [['sha256/ab/cd/abcd', 4]], 'a whole key')
    await pending.abort()
  })

  t.test('optional: writeAt into an object, rename', { skip: !(probe.writeAt && probe.rename) && 'the driver has no writeAt' }, async (t) => {
    const d = await makeDriver()
    t.type(await rejectionOf(d.writeAt!('s/none', 0)), BlobNotFoundError, 'writeAt an absent object')
    const create = await d.createWriter('s/obj', { durable: false })
    await create.end(10)
    await create.commit()
    t.same(await d.stat('s/obj'), { size: 10 }, 'end(length) extends an empty object')
    const w = await d.writeAt!('s/obj', 6)
    await w.write([Buffer.from('67'), Buffer.from('89')])
    await w.end()
    await w.commit()
    const w0 = await d.writeAt!('s/obj', 0)
    await w0.write([Buffer.from('012345')])
    await w0.end()
    await w0.commit()
    t.equal((await readAll(await d.read('s/obj'))).toString(), '0123456789', 'bytes land at their offsets')
    await d.rename!('s/obj', 'done/x/obj')
    t.equal(await d.stat('s/obj'), null, 'moved away')
    t.equal((await readAll(await d.read('done/x/obj'))).toString(), '0123456789')
  })

  t.test('keys that are not keys read as absent', async (t) => {
    const d = await makeDriver()
    for (const bad of ['', '/abs', '../up', 'a/../../b', 'a//b', 'a/./b', 'a/']) {
      t.equal(await d.stat(bad), null, `stat ${JSON.stringify(bad)}`)
      t.type(await rejectionOf(d.read(bad)), BlobNotFoundError, `read ${JSON.stringify(bad)}`)
      t.ok(await rejectionOf(d.createWriter(bad)), `write ${JSON.stringify(bad)}`)
    }
  })
}
