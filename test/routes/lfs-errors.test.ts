/**
 * Bad LFS uploads (docs/hub-api.md §5.7, §5.8, §5.10): wrong bytes, wrong sizes, broken multipart sequences and
 * forged signed URLs get a Hub-format error (with git-lfs's `message`), and the blob store is left
 * without a new object or a stray temp file.
 */
import http from 'node:http'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { UrlSigner } from '../../server/auth/signed-url.js'
import { createRepo, type TestServer, startServer } from '../helpers/server.js'
import type { Test } from 'tap'
import { expectHubError, lfsBatch, putBytes, sha256, stagingFiles, storedBlobs, tempFiles } from '../helpers/error-helpers.js'

const MiB = 1024 * 1024
const CHUNK = 5 * MiB

/** PUT with a chunked body (no Content-Length), so only the streamed byte count can catch a lie. */
function putChunked(url: string, data: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const headers = new Headers()
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v)
        resolve(new Response(chunks.length ? Buffer.concat(chunks) : null, { status: res.statusCode ?? 0, headers }))
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    // Two writes, so the body really arrives in pieces.
    req.write(data.subarray(0, Math.floor(data.length / 2)))
    req.end(data.subarray(Math.floor(data.length / 2)))
  })
}

function assertStoreClean(t: Test, s: TestServer, blobsBefore: string[], what: string): void {
  t.same(storedBlobs(s), blobsBefore, `${what}: no new blob in the store`)
  t.same(tempFiles(s), [], `${what}: no temp file left`)
}

/** An upload href for `data` (fresh object) in `repo`. */
async function uploadHref(s: TestServer, repo: string, oid: string, size: number): Promise<string> {
  const answer = await lfsBatch(s, repo, [{ oid, size }])
  const href = answer.objects[0]?.actions?.upload?.href
  if (!href) throw new Error('no upload action')
  return href
}

t.test('basic PUT: wrong bytes or wrong size is 400 and stores nothing', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'basic')
  const data = randomBytes(4096)
  const oid = sha256(data)
  const href = await uploadHref(s, repo, oid, data.length)
  const before = storedBlobs(s)

  const other = randomBytes(data.length) // same size, different bytes
  const cases: [string, () => Promise<Response>, RegExp?][] = [
    ['bytes that do not hash to the oid', () => putBytes(href, other), /sha256|hash/i],
    ['fewer bytes (Content-Length says so)', () => putBytes(href, data.subarray(0, 100))],
    ['more bytes (Content-Length says so)', () => putBytes(href, Buffer.concat([data, Buffer.from('x')]))],
    ['an empty body', () => putBytes(href, Buffer.alloc(0))],
    ['fewer bytes, chunked', () => putChunked(href, data.subarray(0, data.length - 1)), /size|bytes/i],
    ['more bytes, chunked', () => putChunked(href, Buffer.concat([data, Buffer.from('extra')])), /size|bytes/i],
    // Far more than announced: the refusal must still reach the client (no connection reset).
    ['8 MiB more, chunked', () => putChunked(href, Buffer.concat([data, randomBytes(8 * MiB)])), /size|bytes/i],
    ['right size, wrong bytes, chunked', () => putChunked(href, other), /sha256|hash/i],
  ]
  for (const [what, send, message] of cases) {
    const res = await send()
    await expectHubError(t, res, { status: 400, code: null, lfs: true, ...(message ? { message } : {}) }, what)
    assertStoreClean(t, s, before, what)
  }
  t.equal(await s.ctx.blobs.stat(oid), null, 'the object is not stored')
  t.equal(await s.ctx.blobs.stat(sha256(other)), null, 'nor are the wrong bytes under their own hash')

  // Control: the same URL still accepts the right bytes (so the refusals were about the bytes),
  // and uploading them again succeeds (py retries whole PUTs).
  t.equal((await putBytes(href, data)).status, 200, 'the right bytes are accepted')
  t.equal((await putChunked(href, data)).status, 200, 're-upload (chunked) is idempotent')
  t.same(await s.ctx.blobs.stat(oid), { size: data.length })
  t.same(tempFiles(s), [], 'no temp file after the good uploads either')
})

/** Starts a chunked PUT, sends `sent` bytes, then drops the connection. */
function abortedPut(url: string, sent: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } })
    req.on('error', () => resolve())
    req.on('close', () => resolve())
    req.write(sent, () => setTimeout(() => req.destroy(), 100))
  })
}

async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return check()
}

t.test('a client that drops mid-upload leaves no temp file and nothing stored', async (t) => {
  const s = await startServer(t, { HUBD_MULTIPART_CHUNK_SIZE: String(CHUNK) })
  const repo = await createRepo(s, 'aborts')
  const data = randomBytes(3 * MiB)
  const oid = sha256(data)
  const href = await uploadHref(s, repo, oid, data.length)
  const before = storedBlobs(s)
  await abortedPut(href, data.subarray(0, MiB))
  t.ok(await eventually(() => tempFiles(s).length === 0), 'basic: the temp file is removed after the abort')
  t.same(storedBlobs(s), before, 'basic: nothing stored')
  // The server is fine afterwards: the same URL takes the whole object.
  t.equal((await putBytes(href, data)).status, 200, 'a later complete upload works')

  const big = randomBytes(CHUNK + 10)
  const m = await startMultipart(s, repo, big)
  await abortedPut(m.parts[0]!, big.subarray(0, MiB))
  // The part was not recorded: completion still reports it missing (after the abort settles).
  await new Promise((r) => setTimeout(r, 300))
  await expectHubError(t, await complete(m.complete, { oid: m.oid, parts: [] }), { status: 400, lfs: true, message: /missing/ }, 'aborted part')
  t.equal((await putPart(m, 1)).status, 200, 'the part can be sent again')
})

t.test('basic PUT: forged, expired or replayed signatures are 403', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'sigs')
  const other = await createRepo(s, 'sigs-other')
  const otherRow = await s.ctx.repos.get('model', 'admin', 'sigs-other', s.ctx.auth.actorFor(`Bearer ${s.token}`), 'read')
  const a = randomBytes(1000)
  const b = randomBytes(1000)
  const hrefA = await uploadHref(s, repo, sha256(a), a.length)
  await uploadHref(s, repo, sha256(b), b.length) // b is announced too: a replay must still fail
  const urlA = new URL(hrefA)
  const before = storedBlobs(s)

  const withParam = (name: string, value: string) => {
    const u = new URL(hrefA)
    u.searchParams.set(name, value)
    return u.toString()
  }
  const sig = urlA.searchParams.get('sig')!
  const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)

  // An expired but otherwise genuine signature, made with the server's own key.
  const key = s.ctx.db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?').get('url-signing-key')!.value
  const signer = new UrlSigner(Buffer.from(key, 'hex'))
  const repoId = urlA.searchParams.get('repo')!
  const past = Math.floor(Date.now() / 1000) - 3600
  const expiredQuery = signer.sign(['upload', repoId, sha256(a), a.length], -3600)
  t.match(expiredQuery, /^exp=\d+&sig=/)
  const expired = new URL(hrefA)
  for (const [k, v] of new URLSearchParams(expiredQuery)) expired.searchParams.set(k, v)
  t.ok(Number(expired.searchParams.get('exp')) <= past + 5, 'the forged expiry is in the past')

  const cases: [string, string, Buffer, RegExp?][] = [
    ['tampered signature', withParam('sig', flipped), a, /signature/],
    ['truncated signature', withParam('sig', sig.slice(0, -2)), a],
    ['tampered expiry', withParam('exp', String(Number(urlA.searchParams.get('exp')) + 3600)), a],
    ['tampered size', withParam('size', String(a.length + 1)), Buffer.concat([a, Buffer.from('x')])],
    ['another repo', withParam('repo', otherRow.id), a],
    ['expired', expired.toString(), a, /expired/],
    // The query string of oid A replayed on oid B.
    ['replayed on another oid', `${s.url}/api/lfs/upload/${sha256(b)}${urlA.search}`, b],
  ]
  for (const [what, url, body, message] of cases) {
    const res = await putBytes(url, body)
    await expectHubError(t, res, { status: 403, code: null, lfs: true, ...(message ? { message } : {}) }, what)
    assertStoreClean(t, s, before, what)
  }
  t.equal(other, 'admin/sigs-other')

  // No signature at all is refused too (before any byte is stored).
  const bare = new URL(hrefA)
  bare.searchParams.delete('sig')
  bare.searchParams.delete('exp')
  const res = await putBytes(bare, a)
  t.ok(res.status === 400 || res.status === 403, `no signature: refused (${res.status})`)
  t.ok(res.headers.get('x-error-message'), 'no signature: X-Error-Message present')
  assertStoreClean(t, s, before, 'no signature')

  // Control: the genuine URL works.
  t.equal((await putBytes(hrefA, a)).status, 200, 'the genuine URL is accepted')
})

t.test('verify URL: forged signature is 403', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'verify')
  const a = randomBytes(100)
  const answer = await lfsBatch(s, repo, [{ oid: sha256(a), size: a.length }])
  const verify = answer.objects[0]?.actions?.verify?.href
  t.ok(verify, 'batch offers a verify action')
  if (!verify) return
  const u = new URL(verify)
  // Flip the first character to a different one (a fixed 'x' would be the same 1 time in 64).
  const sig = u.searchParams.get('sig')!
  u.searchParams.set('sig', (sig[0] === 'x' ? 'y' : 'x') + sig.slice(1))
  const res = await fetch(u, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
    body: JSON.stringify({ oid: sha256(a), size: a.length }),
  })
  await expectHubError(t, res, { status: 403, code: null, lfs: true })
  // Before the upload the genuine URL answers 404 (not stored), after it 200.
  const v = () =>
    fetch(verify, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
      body: JSON.stringify({ oid: sha256(a), size: a.length }),
    })
  await expectHubError(t, await v(), { status: 404, lfs: true }, 'verify before upload')
  t.equal((await putBytes(answer.objects[0]!.actions!.upload!.href, a)).status, 200)
  t.equal((await v()).status, 200, 'verify after upload')
})

interface Multipart {
  oid: string
  data: Buffer
  complete: string
  parts: string[]
}

async function startMultipart(s: TestServer, repo: string, data: Buffer): Promise<Multipart> {
  const oid = sha256(data)
  const answer = await lfsBatch(s, repo, [{ oid, size: data.length }], { transfers: ['basic', 'multipart'] })
  if (answer.transfer !== 'multipart') throw new Error(`expected multipart, got ${answer.transfer}`)
  const upload = answer.objects[0]?.actions?.upload
  if (!upload?.header) throw new Error('no multipart action')
  const n = Math.ceil(data.length / Number(upload.header.chunk_size))
  const parts: string[] = []
  for (let i = 1; i <= n; i++) parts.push(upload.header[String(i)]!)
  return { oid, data, complete: upload.href, parts }
}

function partSlice(m: Multipart, n: number): Buffer {
  return m.data.subarray((n - 1) * CHUNK, n * CHUNK)
}

async function putPart(m: Multipart, n: number, body = partSlice(m, n)): Promise<Response> {
  return putBytes(m.parts[n - 1]!, body)
}

function complete(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.git-lfs+json', accept: 'application/vnd.git-lfs+json' },
    body: JSON.stringify(body),
  })
}

t.test('multipart: wrong part length, missing parts, wrong content are 400', async (t) => {
  const s = await startServer(t, { HUBD_MULTIPART_CHUNK_SIZE: String(CHUNK) })
  const repo = await createRepo(s, 'multi')
  const data = randomBytes(CHUNK + 1000) // two parts: 5 MiB and 1000 bytes
  const m = await startMultipart(s, repo, data)
  t.equal(m.parts.length, 2)
  const before = storedBlobs(s)

  // A part of the wrong length (the last part is 1000 bytes).
  for (const [what, body] of [
    ['part 2 one byte short', partSlice(m, 2).subarray(0, 999)],
    ['part 2 one byte long', Buffer.concat([partSlice(m, 2), Buffer.from('x')])],
    ['part 2 empty', Buffer.alloc(0)],
    ['part 2 with 8 MiB', randomBytes(8 * MiB)],
  ] as const) {
    await expectHubError(t, await putPart(m, 2, body), { status: 400, code: null, lfs: true, message: /size|bytes/ }, what)
    assertStoreClean(t, s, before, what)
  }
  const short1 = await putPart(m, 1, partSlice(m, 1).subarray(0, 1000))
  await expectHubError(t, short1, { status: 400, code: null, lfs: true }, 'part 1 short')

  // Completion with missing parts: none yet, then only part 1.
  await expectHubError(t, await complete(m.complete, { oid: m.oid, parts: [] }), { status: 400, code: null, lfs: true, message: /missing/ }, 'no parts')
  const p1 = await putPart(m, 1)
  t.equal(p1.status, 200, 'part 1 accepted')
  const etag1 = p1.headers.get('etag')
  t.ok(etag1, 'part 1 has an ETag')
  await expectHubError(
    t,
    await complete(m.complete, { oid: m.oid, parts: [{ partNumber: 1, etag: etag1 }] }),
    { status: 400, code: null, lfs: true, message: /missing/ },
    'only part 1',
  )
  assertStoreClean(t, s, before, 'missing parts')

  // A part number out of range.
  const bogus = new URL(m.parts[1]!)
  const resBogus = await putBytes(bogus.toString().replace('/part/2?', '/part/3?'), Buffer.from('x'))
  t.ok(resBogus.status === 400 || resBogus.status === 403, `part 3 of 2 refused (${resBogus.status})`)

  // Now part 2 with the right length but wrong bytes: the assembled content does not hash to oid.
  const p2 = await putPart(m, 2, randomBytes(1000))
  t.equal(p2.status, 200, 'a part of the right length is accepted (it cannot be checked alone)')
  const etag2 = p2.headers.get('etag')
  const stagedBefore = stagingFiles(s)
  t.equal(stagedBefore.length, 1, 'one staging file while the upload is open')
  await expectHubError(
    t,
    await complete(m.complete, { oid: m.oid, parts: [{ partNumber: 1, etag: etag1 }, { partNumber: 2, etag: etag2 }] }),
    { status: 400, code: null, lfs: true, message: /sha256|hash/i },
    'assembled content does not hash to the oid',
  )
  assertStoreClean(t, s, before, 'bad assembled content')
  t.same(stagingFiles(s), [], 'the staging file is gone')
  t.equal(await s.ctx.blobs.stat(m.oid), null, 'the object is not stored')
  // The upload is closed: completing again is refused, not a 500.
  await expectHubError(t, await complete(m.complete, { oid: m.oid, parts: [] }), { status: 400, lfs: true }, 'completing a failed upload again')
  await expectHubError(t, await putPart(m, 1), { status: 400, lfs: true }, 'a part for a failed upload')
  assertStoreClean(t, s, before, 'after the failed upload')

  // Control: a fresh, correct multipart upload of the same object succeeds.
  const m2 = await startMultipart(s, repo, data)
  const etags: string[] = []
  for (let n = 1; n <= m2.parts.length; n++) {
    const r = await putPart(m2, n)
    t.equal(r.status, 200, `part ${n} ok`)
    etags.push(r.headers.get('etag') ?? '')
  }
  const done = await complete(m2.complete, { oid: m2.oid, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) })
  t.equal(done.status, 200, 'the correct upload completes')
  t.same(await s.ctx.blobs.stat(m2.oid), { size: data.length }, 'and is stored')
  t.same(tempFiles(s), [], 'no temp file')
  t.same(stagingFiles(s), [], 'no staging file')
})

t.test('multipart: wrong oid or ETag in the completion is 400', async (t) => {
  const s = await startServer(t, { HUBD_MULTIPART_CHUNK_SIZE: String(CHUNK) })
  const repo = await createRepo(s, 'multi-etag')
  const data = randomBytes(CHUNK + 10)
  const m = await startMultipart(s, repo, data)
  const etags: string[] = []
  for (let n = 1; n <= 2; n++) etags.push((await putPart(m, n)).headers.get('etag') ?? '')
  const before = storedBlobs(s)
  await expectHubError(
    t,
    await complete(m.complete, { oid: sha256('something else'), parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) }),
    { status: 400, code: null, lfs: true },
    'oid of another object',
  )
  await expectHubError(
    t,
    await complete(m.complete, { oid: m.oid, parts: [{ partNumber: 1, etag: '"nope"' }, { partNumber: 2, etag: etags[1] }] }),
    { status: 400, code: null, lfs: true },
    'unknown ETag',
  )
  assertStoreClean(t, s, before, 'bad completion')
  // Those refusals did not close the upload: the right completion still works.
  const ok = await complete(m.complete, { oid: m.oid, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) })
  t.equal(ok.status, 200)
})

t.test('multipart: forged or replayed part and completion URLs are 403', async (t) => {
  const s = await startServer(t, { HUBD_MULTIPART_CHUNK_SIZE: String(CHUNK) })
  const repo = await createRepo(s, 'multi-sigs')
  const m = await startMultipart(s, repo, randomBytes(CHUNK + 10))
  const other = await startMultipart(s, repo, randomBytes(CHUNK + 20))
  const before = storedBlobs(s)

  const part1 = new URL(m.parts[0]!)
  const part2 = new URL(m.parts[1]!)
  const tampered = new URL(part1)
  const sig1 = part1.searchParams.get('sig')!
  tampered.searchParams.set('sig', (sig1[0] === 'A' ? 'B' : 'A') + sig1.slice(1))
  const otherPart1 = new URL(other.parts[0]!)
  const completeUrl = new URL(m.complete)
  const otherComplete = new URL(other.complete)
  const cases: [string, () => Promise<Response>][] = [
    ['tampered part signature', () => putBytes(tampered, partSlice(m, 1))],
    // Part 1's query string on part 2's path.
    ['part 1 signature on part 2', () => putBytes(`${part2.origin}${part2.pathname}${part1.search}`, partSlice(m, 2))],
    // One upload's part signature on another upload's part.
    ['part signature on another upload', () => putBytes(`${otherPart1.origin}${otherPart1.pathname}${part1.search}`, partSlice(other, 1))],
    // A part signature used for completion, and another upload's completion signature.
    ['part signature on completion', () => complete(`${completeUrl.origin}${completeUrl.pathname}${part1.search}`, { oid: m.oid, parts: [] })],
    ['completion signature of another upload', () => complete(`${completeUrl.origin}${completeUrl.pathname}${otherComplete.search}`, { oid: m.oid, parts: [] })],
  ]
  for (const [what, send] of cases) {
    await expectHubError(t, await send(), { status: 403, code: null, lfs: true }, what)
  }
  assertStoreClean(t, s, before, 'forged multipart URLs')
})
