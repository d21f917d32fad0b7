import { createHash, randomBytes } from 'node:crypto'
import { PassThrough, Readable, Writable } from 'node:stream'
import type { Test } from 'tap'
import { BlobNotFoundError, BlobVerifyError, type BlobStore, type StreamVerifier } from '../../storage/blobs/blob-store.js'

/** sha256 hex of `b`. */
export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

/** A byte stream of `b` in chunks of `chunk` bytes (not object mode, like a request body). */
export function bytes(b: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += chunk) yield b.subarray(i, i + chunk)
    })(),
    { objectMode: false },
  )
}

/** A stream that sends `b` and then fails, like a client that hangs up. */
export function failingAfter(b: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield b
      await new Promise((r) => setTimeout(r, 5))
      throw new Error('client went away')
    })(),
    { objectMode: false },
  )
}

export async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of r) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string))
  return Buffer.concat(parts)
}

/** The rejection of `p`, or null if it resolved. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e ?? new Error('rejected with nothing'),
  )
}

const OTHER = sha256(Buffer.from('not stored anywhere'))

/** What `openRange(...).sendTo` writes. */
export async function sentBytes(range: { sendTo(res: Writable): Promise<void> }): Promise<Buffer> {
  const got: Buffer[] = []
  await range.sendTo(
    new Writable({
      write(c: Buffer, _e, cb) {
        got.push(Buffer.from(c))
        cb()
      },
    }),
  )
  return Buffer.concat(got)
}

/**
 * The behaviour of the blob store (see storage/blobs/blob-store.ts), whatever driver is below it
 * (see blob-driver-conformance.ts). Each subtest gets a fresh store from `makeStore`.
 */
export function blobStoreConformance(t: Test, makeStore: () => Promise<BlobStore>): void {
  // Larger than the fs driver's 1 MiB buffers, and not a multiple of them.
  const big = randomBytes(3 * 1024 * 1024 + 17)
  const bigOid = sha256(big)
  const small = Buffer.from('hello, blob\n')
  const smallOid = sha256(small)

  t.test('put, stat, read the whole blob and ranges', async (t) => {
    const store = await makeStore()
    t.equal(await store.stat(bigOid), null, 'absent before')
    await store.put(bytes(big), { oid: bigOid, size: big.length })
    t.same(await store.stat(bigOid), { size: big.length })
    t.ok((await readAll(await store.read(bigOid))).equals(big), 'whole blob')
    const ranges: [number, number][] = [
      [0, 0],
      [0, 99],
      [big.length - 1, big.length - 1],
      [1024 * 1024 - 3, 1024 * 1024 + 3],
      [5, big.length - 1],
      [2 * 1024 * 1024, 3 * 1024 * 1024 - 1],
    ]
    for (const [start, end] of ranges) {
      const got = await readAll(await store.read(bigOid, { start, end }))
      t.ok(got.equals(big.subarray(start, end + 1)), `range ${start}-${end} (${got.length} bytes)`)
    }
    await store.put(bytes(small, 3), { oid: smallOid, size: small.length })
    t.same(await store.stat(smallOid), { size: small.length })
    t.equal((await readAll(await store.read(smallOid))).toString(), 'hello, blob\n')
    t.equal((await readAll(await store.read(smallOid, { start: 7, end: 10 }))).toString(), 'blob')
    for (const [start, end] of ranges) {
      const got = await sentBytes(await store.openRange(bigOid, { start, end }))
      t.ok(got.equals(big.subarray(start, end + 1)), `openRange ${start}-${end} (${got.length} bytes)`)
    }
  })

  t.test('the empty blob', async (t) => {
    const store = await makeStore()
    const oid = sha256(Buffer.alloc(0))
    await store.put(bytes(Buffer.alloc(0)), { oid, size: 0 })
    t.same(await store.stat(oid), { size: 0 })
    t.equal((await readAll(await store.read(oid))).length, 0)
  })

  t.test('absent blobs', async (t) => {
    const store = await makeStore()
    t.equal(await store.stat(OTHER), null)
    t.type(await rejectionOf(store.read(OTHER)), BlobNotFoundError)
    t.type(await rejectionOf(store.read(OTHER, { start: 0, end: 0 })), BlobNotFoundError)
    t.type(await rejectionOf(store.openRange(OTHER, { start: 0, end: 0 })), BlobNotFoundError)
    for (const bad of ['', 'abc', OTHER.toUpperCase(), '../../../../etc/passwd', `${OTHER.slice(0, 62)}/.`]) {
      t.equal(await store.stat(bad), null, `stat ${JSON.stringify(bad)}`)
      t.type(await rejectionOf(store.read(bad)), BlobNotFoundError, `read ${JSON.stringify(bad)}`)
    }
  })

  t.test('wrong hash → BlobVerifyError and nothing stored', async (t) => {
    const store = await makeStore()
    const err = await rejectionOf(store.put(bytes(small), { oid: OTHER, size: small.length }))
    t.type(err, BlobVerifyError)
    t.equal((err as Error).name, 'BlobVerifyError')
    t.equal(await store.stat(OTHER), null, 'not under the promised oid')
    t.equal(await store.stat(smallOid), null, 'not under the real oid either')
  })

  t.test('too many bytes → BlobVerifyError and nothing stored', async (t) => {
    const store = await makeStore()
    // The promised oid is that of the first `size` bytes: only the count can catch it.
    const prefix = big.subarray(0, 1000)
    t.type(await rejectionOf(store.put(bytes(big), { oid: sha256(prefix), size: prefix.length })), BlobVerifyError)
    t.equal(await store.stat(sha256(prefix)), null)
    // The promised oid is right but the size understated.
    t.type(await rejectionOf(store.put(bytes(big), { oid: bigOid, size: big.length - 1 })), BlobVerifyError)
    t.equal(await store.stat(bigOid), null)
  })

  t.test('too few bytes → BlobVerifyError and nothing stored', async (t) => {
    const store = await makeStore()
    t.type(await rejectionOf(store.put(bytes(big.subarray(0, 5000)), { oid: bigOid, size: big.length })), BlobVerifyError)
    t.equal(await store.stat(bigOid), null)
    // Right oid for what was sent, but more was announced.
    t.type(await rejectionOf(store.put(bytes(small), { oid: smallOid, size: small.length + 1 })), BlobVerifyError)
    t.equal(await store.stat(smallOid), null)
  })

  t.test('a failing source rejects the put and stores nothing', async (t) => {
    const store = await makeStore()
    const err = await rejectionOf(store.put(failingAfter(small), { oid: smallOid, size: small.length }))
    t.ok(err, 'rejected')
    t.equal(await store.stat(smallOid), null)
  })

  t.test('a blob being written is invisible until verified', async (t) => {
    const store = await makeStore()
    const source = new PassThrough()
    const done = store.put(source, { oid: bigOid, size: big.length })
    source.write(big.subarray(0, 2 * 1024 * 1024))
    await new Promise((r) => setTimeout(r, 20))
    t.equal(await store.stat(bigOid), null, 'not visible half-way')
    t.type(await rejectionOf(store.read(bigOid)), BlobNotFoundError)
    source.end(big.subarray(2 * 1024 * 1024))
    await done
    t.same(await store.stat(bigOid), { size: big.length })
  })

  t.test('put of an existing digest succeeds', async (t) => {
    const store = await makeStore()
    await store.put(bytes(small), { oid: smallOid, size: small.length })
    await store.put(bytes(small), { oid: smallOid, size: small.length })
    t.same(await store.stat(smallOid), { size: small.length })
    await Promise.all([1, 2, 3].map(() => store.put(bytes(big), { oid: bigOid, size: big.length })))
    t.ok((await readAll(await store.read(bigOid))).equals(big), 'concurrent identical puts')
    // A failed put of an existing digest leaves the stored copy alone.
    t.type(await rejectionOf(store.put(bytes(big.subarray(1)), { oid: bigOid, size: big.length })), BlobVerifyError)
    t.ok((await readAll(await store.read(bigOid))).equals(big), 'still intact after a failed re-upload')
  })

  t.test('delete', async (t) => {
    const store = await makeStore()
    await store.put(bytes(small), { oid: smallOid, size: small.length })
    await store.delete(smallOid)
    t.equal(await store.stat(smallOid), null)
    t.type(await rejectionOf(store.read(smallOid)), BlobNotFoundError)
    await store.delete(smallOid)
    t.pass('deleting an absent blob is not an error')
    await store.put(bytes(small), { oid: smallOid, size: small.length })
    t.same(await store.stat(smallOid), { size: small.length }, 'can be stored again')
  })

  t.test('staging: parts out of order, a rewritten part, commit verifies', async (t) => {
    const store = await makeStore()
    const part = 1024 * 1024 + 1
    const parts = [0, 1, 2, 3].map((i) => ({ offset: i * part, data: big.subarray(i * part, Math.min(big.length, (i + 1) * part)) }))
    t.equal(parts[3]!.data.length, big.length - 3 * part, 'a short last part')
    await store.createStaging('upload-1', big.length)
    for (const i of [2, 0, 3]) await store.writeStaging('upload-1', parts[i]!.offset, parts[i]!.data.length, bytes(parts[i]!.data))
    // Part 1 first with the wrong bytes, then rewritten.
    const wrong = randomBytes(parts[1]!.data.length)
    await store.writeStaging('upload-1', parts[1]!.offset, wrong.length, bytes(wrong))
    await store.writeStaging('upload-1', parts[1]!.offset, parts[1]!.data.length, bytes(parts[1]!.data))
    t.equal(await store.stat(bigOid), null, 'nothing published before the commit')
    await store.commitStaging('upload-1', { oid: bigOid, size: big.length })
    t.same(await store.stat(bigOid), { size: big.length })
    t.ok((await readAll(await store.read(bigOid))).equals(big), 'assembled content')
    t.ok(await rejectionOf(store.writeStaging('upload-1', 0, 1, bytes(Buffer.from('x')))), 'the staging is gone after the commit')
    t.ok(await rejectionOf(store.commitStaging('upload-1', { oid: bigOid, size: big.length })), 'cannot commit twice')
  })

  t.test('staging: concurrent parts', async (t) => {
    const store = await makeStore()
    const part = 256 * 1024
    await store.createStaging('conc', big.length)
    const writes = []
    for (let off = 0; off < big.length; off += part) {
      const data = big.subarray(off, off + part)
      writes.push(store.writeStaging('conc', off, data.length, bytes(data, 4096)))
    }
    await Promise.all(writes.reverse())
    await store.commitStaging('conc', { oid: bigOid, size: big.length })
    t.ok((await readAll(await store.read(bigOid))).equals(big))
  })

  t.test('staging: wrong content → BlobVerifyError and nothing published', async (t) => {
    const store = await makeStore()
    await store.createStaging('bad', small.length)
    const other = Buffer.from(small.toString().toUpperCase())
    await store.writeStaging('bad', 0, other.length, bytes(other))
    t.type(await rejectionOf(store.commitStaging('bad', { oid: smallOid, size: small.length })), BlobVerifyError)
    t.equal(await store.stat(smallOid), null)
    t.equal(await store.stat(sha256(other)), null)
    await store.abortStaging('bad')
    t.pass('a failed staging can be aborted')
  })

  t.test('staging: a missing part or a wrong size fails the commit', async (t) => {
    const store = await makeStore()
    await store.createStaging('holes', 10)
    await store.writeStaging('holes', 0, 5, bytes(Buffer.from('01234')))
    const full = Buffer.from('0123456789')
    t.type(await rejectionOf(store.commitStaging('holes', { oid: sha256(full), size: 10 })), BlobVerifyError, 'unwritten part')
    t.equal(await store.stat(sha256(full)), null)

    await store.createStaging('size', 10)
    await store.writeStaging('size', 0, 10, bytes(full))
    t.type(await rejectionOf(store.commitStaging('size', { oid: sha256(full), size: 11 })), BlobVerifyError, 'size too large')
    t.type(await rejectionOf(store.commitStaging('size', { oid: sha256(full.subarray(0, 9)), size: 9 })), BlobVerifyError, 'size too small')
    t.equal(await store.stat(sha256(full)), null)
    t.equal(await store.stat(sha256(full.subarray(0, 9))), null)
  })

  t.test('staging: a part with too many or too few bytes → BlobVerifyError', async (t) => {
    const store = await makeStore()
    await store.createStaging('parts', 20)
    t.type(await rejectionOf(store.writeStaging('parts', 0, 10, bytes(Buffer.alloc(11, 0x61)))), BlobVerifyError, 'too many')
    t.type(await rejectionOf(store.writeStaging('parts', 10, 10, bytes(Buffer.alloc(9, 0x62)))), BlobVerifyError, 'too few')
    // The parts can be written again correctly afterwards.
    const content = Buffer.concat([Buffer.alloc(10, 0x61), Buffer.alloc(10, 0x62)])
    await store.writeStaging('parts', 0, 10, bytes(content.subarray(0, 10)))
    await store.writeStaging('parts', 10, 10, bytes(content.subarray(10)))
    await store.commitStaging('parts', { oid: sha256(content), size: 20 })
    t.ok((await readAll(await store.read(sha256(content)))).equals(content))
  })

  t.test('abortStaging', async (t) => {
    const store = await makeStore()
    await store.createStaging('gone', small.length)
    await store.writeStaging('gone', 0, small.length, bytes(small))
    await store.abortStaging('gone')
    t.ok(await rejectionOf(store.writeStaging('gone', 0, small.length, bytes(small))), 'no more writes')
    t.ok(await rejectionOf(store.commitStaging('gone', { oid: smallOid, size: small.length })), 'no commit')
    t.equal(await store.stat(smallOid), null)
    await store.abortStaging('gone')
    await store.abortStaging('never-created')
    t.pass('aborting twice or an unknown id is not an error')
    await store.createStaging('gone', small.length)
    await store.writeStaging('gone', 0, small.length, bytes(small))
    await store.commitStaging('gone', { oid: smallOid, size: small.length })
    t.same(await store.stat(smallOid), { size: small.length }, 'the id can be reused')
  })

  t.test('writing to an unknown staging fails', async (t) => {
    const store = await makeStore()
    t.type(await rejectionOf(store.writeStaging('nope', 0, 1, bytes(Buffer.from('x')))), BlobNotFoundError)
    t.ok(await rejectionOf(store.commitStaging('nope', { oid: smallOid, size: 1 })))
  })

  /** A keyed-object verifier for the tests: the content's sha256 must equal `key`; keeps `keep` bytes. */
  const shaVerifier = (key: string, keep?: number): StreamVerifier & { seen: number } => {
    const h = createHash('sha256')
    const v = {
      seen: 0,
      update(c: Buffer) {
        v.seen += c.length
        h.update(c)
      },
      finish() {
        if (h.digest('hex') !== key) throw new BlobVerifyError('keyed content does not match its key')
        return { keep: keep ?? v.seen }
      },
    }
    return v
  }

  t.test('keyed: put verifies with the caller\'s verifier, stat and read ranges', async (t) => {
    const store = await makeStore()
    t.equal(await store.statKeyed('xorb', bigOid), null, 'absent before')
    t.type(await rejectionOf(store.readKeyed('xorb', bigOid)), BlobNotFoundError)
    const v = shaVerifier(bigOid)
    await store.putKeyed('xorb', bigOid, bytes(big), { limit: big.length, verifier: v })
    t.equal(v.seen, big.length, 'the verifier saw every byte')
    t.same(await store.statKeyed('xorb', bigOid), { size: big.length })
    t.equal(await store.statKeyed('shard', bigOid), null, 'namespaces are separate')
    t.equal(await store.stat(bigOid), null, 'and separate from sha256 blobs')
    t.ok((await readAll(await store.readKeyed('xorb', bigOid))).equals(big))
    const got = await readAll(await store.readKeyed('xorb', bigOid, { start: 1024 * 1024 - 3, end: 1024 * 1024 + 3 }))
    t.ok(got.equals(big.subarray(1024 * 1024 - 3, 1024 * 1024 + 4)), 'a range')
  })

  t.test('keyed: the verifier may keep only a prefix (a xorb footer is dropped)', async (t) => {
    const store = await makeStore()
    await store.putKeyed('shard', smallOid, bytes(small, 3), { limit: 100, verifier: shaVerifier(smallOid, 5) })
    t.same(await store.statKeyed('shard', smallOid), { size: 5 })
    t.equal((await readAll(await store.readKeyed('shard', smallOid))).toString(), 'hello')
  })

  t.test('keyed: rejected content, too many bytes, a failing source or verifier store nothing', async (t) => {
    const store = await makeStore()
    t.type(await rejectionOf(store.putKeyed('xorb', OTHER, bytes(small), { limit: 100, verifier: shaVerifier(OTHER) })), BlobVerifyError)
    t.equal(await store.statKeyed('xorb', OTHER), null)
    const tooMany = await rejectionOf(store.putKeyed('xorb', smallOid, bytes(small), { limit: 4, verifier: shaVerifier(smallOid) }))
    t.type(tooMany, BlobVerifyError)
    t.equal(await store.statKeyed('xorb', smallOid), null)
    t.ok(await rejectionOf(store.putKeyed('xorb', smallOid, failingAfter(small), { limit: 100, verifier: shaVerifier(smallOid) })))
    t.equal(await store.statKeyed('xorb', smallOid), null)
    const boom: StreamVerifier = {
      update() {
        throw new Error('bad chunk header')
      },
      finish: () => ({ keep: 0 }),
    }
    const err = await rejectionOf(store.putKeyed('xorb', smallOid, bytes(small), { limit: 100, verifier: boom }))
    t.equal((err as Error).message, 'bad chunk header', 'the verifier\'s own error comes back')
    t.equal(await store.statKeyed('xorb', smallOid), null)
    for (const bad of ['', OTHER.toUpperCase(), '../../x']) {
      t.equal(await store.statKeyed('xorb', bad), null, `stat ${JSON.stringify(bad)}`)
      t.type(await rejectionOf(store.readKeyed('xorb', bad)), BlobNotFoundError)
    }
  })
}
