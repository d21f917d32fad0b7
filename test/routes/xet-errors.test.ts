import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import t from 'tap'
import type { Test } from 'tap'
import { CasTokens } from '../../server/auth/cas-token.js'
import { hashToken } from '../../server/auth/tokens.js'
import { fileHash, hashFromHex, hashToHex, initXetHash, verificationHash } from '../../storage/formats/xet/hash.js'
import { buildShard } from '../../storage/formats/xet/shard.js'
import { buildXorb, type XorbLayout } from '../../storage/formats/xet/xorb.js'
import { authed, commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

interface XetToken {
  accessToken: string
  exp: number
  casUrl: string
}

async function token(server: TestServer, repo: string, kind: 'read' | 'write', auth: string | null = server.token): Promise<XetToken> {
  const res = await fetch(`${server.url}/api/models/${repo}/xet-${kind}-token/main`, auth ? { headers: { authorization: `Bearer ${auth}` } } : {})
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`)
  return (await res.json()) as XetToken
}

function cas(tok: XetToken | string | null, p: string, init: Omit<RequestInit, 'body'> & { body?: Buffer | string } = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : new Blob([new Uint8Array(init.body)])
  if (tok) headers.set('authorization', `Bearer ${typeof tok === 'string' ? tok : tok.accessToken}`)
  const base = typeof tok === 'object' && tok ? tok.casUrl : ''
  return fetch(`${base}${p}`, { ...init, headers, body: body ?? null })
}

/** A file made of `n` chunks of random bytes, in one xorb, and the shard that registers it. */
function makeFile(sizes: number[]) {
  const chunks = sizes.map((n) => randomBytes(n))
  const { bytes, layout } = buildXorb(chunks, 0)
  const data = Buffer.concat(chunks)
  return { chunks, data, xorb: bytes, layout, xorbHex: hashToHex(layout.hash) }
}

function shardFor(layout: XorbLayout, sha: string | null, tweak: { verification?: Buffer; unpacked?: number; fileHash?: Buffer } = {}) {
  const leaves = layout.chunks.map((c) => ({ hash: c.hash, size: c.unpackedLength }))
  const fh = tweak.fileHash ?? fileHash(leaves)
  const body = buildShard({
    files: [
      {
        fileHash: fh,
        terms: [
          {
            xorbHash: layout.hash,
            chunkStart: 0,
            chunkEnd: layout.chunks.length,
            unpackedBytes: tweak.unpacked ?? layout.unpackedLength,
            verification: tweak.verification ?? verificationHash(layout.chunks.map((c) => c.hash)),
          },
        ],
        ...(sha ? { sha256: hashFromHex(sha) } : {}),
      },
    ],
    xorbs: [{ xorbHash: layout.hash, chunks: layout.chunks.map((c) => ({ hash: c.hash, unpackedLength: c.unpackedLength })) }],
  })
  return { body, fileHex: hashToHex(fh) }
}

async function expectError(t: Test, res: Response, status: number, pattern: RegExp, what: string) {
  t.equal(res.status, status, `${what}: ${status}`)
  const body = (await res.json().catch(() => ({}))) as { error?: string }
  t.match(body.error ?? '', pattern, `${what}: says why`)
  t.equal(res.headers.get('x-error-message') !== null, true, `${what}: X-Error-Message`)
}

t.before(async () => initXetHash())

t.test('xorb uploads: wrong hash, truncated, oversized, bad chunks, wrong token — refused, nothing stored', async (t) => {
  const server = await startServer(t)
  await createRepo(server, 'x')
  const w = await token(server, 'admin/x', 'write')
  const r = await token(server, 'admin/x', 'read')
  const f = makeFile([70000, 50000, 1000])
  const stored = async (hex: string) => (await server.ctx.blobs.statKeyed('xorb', hex)) !== null || server.ctx.xet.stats().xorbs > 0

  const other = hashToHex(randomBytes(32))
  await expectError(t, await cas(w, `/v1/xorbs/default/${other}`, { method: 'POST', body: f.xorb }), 400, /hashes to .*not/, 'content of another hash')
  t.notOk(await stored(other), 'nothing stored under the claimed hash')
  t.notOk(await stored(f.xorbHex), 'nor under the real one')

  await expectError(t, await cas(w, `/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: f.xorb.subarray(0, f.xorb.length - 10) }), 400, /truncated/, 'truncated xorb')
  const flipped = Buffer.from(f.xorb)
  flipped[100]! ^= 1
  await expectError(t, await cas(w, `/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: flipped }), 400, /hashes to/, 'one flipped byte')
  const badHeader = Buffer.from(f.xorb)
  badHeader[0] = 3
  await expectError(t, await cas(w, `/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: badHeader }), 400, /version/i, 'chunk header version 3')
  await expectError(t, await cas(w, `/v1/xorbs/default/not-a-hash`, { method: 'POST', body: f.xorb }), 400, /hash/, 'malformed hash')
  await expectError(t, await cas(w, `/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: Buffer.concat([f.xorb, Buffer.from('junk')]) }), 400, /./, 'trailing junk')
  t.notOk(await stored(f.xorbHex), 'still nothing stored')

  // Oversized: refused from Content-Length, before the body is read.
  const over = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const u = new URL(`${w.casUrl}/v1/xorbs/default/${f.xorbHex}`)
    const req = http.request(u, { method: 'POST', headers: { authorization: `Bearer ${w.accessToken}`, 'content-length': String(80 * 1024 * 1024) } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode!, body })
      })
    })
    req.on('error', reject)
    req.write(f.xorb)
  })
  t.equal(over.status, 400, 'oversized body: 400')
  t.match(over.body, /exceeds the limit/)

  await expectError(t, await cas(r, `/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: f.xorb }), 403, /read-only/, 'read token')
  await expectError(t, await cas(null, `${w.casUrl}/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: f.xorb }), 401, /token/, 'no token')
  await expectError(t, await cas(`${w.accessToken}x`, `${w.casUrl}/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: f.xorb }), 401, /token/, 'tampered token')
  const key = server.ctx.db.prepare<[], { value: string }>("SELECT value FROM settings WHERE key = 'xet-token-key'").get()!.value
  const expired = new CasTokens(Buffer.from(key, 'hex')).issue({
    repoId: server.ctx.db.prepare<[], { id: string }>("SELECT id FROM repos WHERE name = 'x'").get()!.id,
    scope: 'write',
    exp: Math.floor(Date.now() / 1000) - 60,
    user: 'admin',
  })
  await expectError(t, await cas(expired, `${w.casUrl}/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: f.xorb }), 401, /expired/, 'expired token')
  t.notOk(await stored(f.xorbHex), 'nothing stored by any refused upload')

  const ok = await cas(w, `/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: f.xorb })
  t.same(await ok.json(), { was_inserted: true }, 'the good xorb is accepted')
  const again = await cas(w, `/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: f.xorb })
  t.same(await again.json(), { was_inserted: false }, 'a repeat is not an error')
})

t.test('shards: missing xorbs, lies about lengths, hashes or sha256 — refused or never trusted', async (t) => {
  const server = await startServer(t)
  await createRepo(server, 'victim', { private: true })
  // The attacker is an ordinary user (the admin may read, hence reuse, everything).
  const mallory = server.ctx.users.ensureUser('mallory')
  const malloryToken = 'hf_mallorytoken0123456789'
  server.ctx.users.addToken(mallory.id, 'test', 'write', hashToken(malloryToken))
  await createRepo({ ...server, token: malloryToken }, 'attacker')
  const wv = await token(server, 'admin/victim', 'write')
  const wa = await token(server, 'mallory/attacker', 'write', malloryToken)
  const f = makeFile([60000, 60000])
  const shard = shardFor(f.layout, sha256(f.data))
  const post = (tok: XetToken, body: Buffer) => cas(tok, '/v1/shards', { method: 'POST', body })

  await expectError(t, await post(wv, shard.body), 400, /has not been uploaded/, 'xorb not uploaded')
  t.equal((server.ctx.db.prepare('SELECT count(*) AS n FROM xet_files').get() as { n: number }).n, 0, 'no file registered')
  t.equal((await cas(wv, `/v1/xorbs/default/${f.xorbHex}`, { method: 'POST', body: f.xorb })).status, 200)

  await expectError(t, await post(wv, shardFor(f.layout, null, { verification: randomBytes(32) }).body), 400, /verification/, 'wrong verification hash')
  await expectError(t, await post(wv, shardFor(f.layout, null, { unpacked: 1 }).body), 400, /declares 1 bytes/, 'wrong term length')
  await expectError(t, await post(wv, shardFor(f.layout, null, { fileHash: randomBytes(32) }).body), 400, /does not produce this hash/, 'wrong file hash')
  await expectError(t, await post(wv, Buffer.from('not a shard at all, clearly')), 400, /Shard rejected/, 'garbage')
  t.equal((server.ctx.db.prepare('SELECT count(*) AS n FROM xet_files').get() as { n: number }).n, 0, 'still no file registered')

  const good = await post(wv, shard.body)
  t.same(await good.json(), { result: 1 }, 'the honest shard is registered')
  t.same(await (await post(wv, shard.body)).json(), { result: 0 }, 'a repeat answers 0')
  const header = { key: 'header', value: { summary: 'add' } }
  const lfsFile = (p: string, oid: string, size: number) => ({ key: 'lfsFile', value: { path: p, algo: 'sha256', oid, size } })
  t.equal((await commitLines(server, 'models/admin/victim', 'main', [header, lfsFile('secret.bin', sha256(f.data), f.data.length)])).status, 200, 'the victim commits its file')

  // The attacker claims the victim's sha256 for bytes of its own.
  const mine = makeFile([60000, 60000])
  t.equal((await cas(wa, `/v1/xorbs/default/${mine.xorbHex}`, { method: 'POST', body: mine.xorb })).status, 200)
  const lie = shardFor(mine.layout, sha256(f.data))
  t.same(await (await post(wa, lie.body)).json(), { result: 1 }, 'a claim is only a claim')
  const stolen = await commitLines(server, 'models/mallory/attacker', 'main', [header, lfsFile('stolen.bin', sha256(f.data), f.data.length)], malloryToken)
  t.equal(stolen.status, 400, 'a commit naming the victim\'s sha256 is refused')
  t.match(await stolen.text(), /does not exist/)
  // And a lie about its own bytes never becomes an LFS object either.
  const fake = 'ab'.repeat(32)
  const liar = makeFile([5000])
  await cas(wa, `/v1/xorbs/default/${liar.xorbHex}`, { method: 'POST', body: liar.xorb })
  await post(wa, shardFor(liar.layout, fake).body)
  t.equal((await commitLines(server, 'models/mallory/attacker', 'main', [header, lfsFile('fake.bin', fake, 5000)], malloryToken)).status, 400, 'a lying sha256 fails at commit')
  t.equal(server.ctx.xet.fileOf(fake), undefined, 'and is never mapped')

  // Reconstruction is scoped to the token's repo.
  const ra = await token(server, 'mallory/attacker', 'read', malloryToken)
  await expectError(t, await cas(ra, `/v2/reconstructions/${shard.fileHex}`), 404, /not found/, 'another repo\'s file')
  const rv = await token(server, 'admin/victim', 'read')
  const rec = await cas(rv, `/v2/reconstructions/${shard.fileHex}`, { headers: { range: 'bytes=0-99' } })
  t.equal(rec.status, 200, 'the owner reconstructs it')
  const plan = (await rec.json()) as { terms: { hash: string }[]; xorbs: Record<string, { url: string; ranges: { bytes: { start: number; end: number } }[] }[]> }
  const entry = plan.xorbs[f.xorbHex]![0]!
  const range = `bytes=${entry.ranges[0]!.bytes.start}-${entry.ranges[0]!.bytes.end}`
  t.equal((await fetch(entry.url, { headers: { range } })).status, 206, 'the signed range URL serves')
  t.equal((await fetch(entry.url.replace(/sig=[^&]+/, 'sig=AAAA'), { headers: { range } })).status, 403, 'a forged signature is refused')
  t.equal((await fetch(entry.url.replace(/exp=\d+/, 'exp=1'), { headers: { range } })).status, 403, 'an expired URL is refused')
  t.equal((await fetch(entry.url, { headers: { range: `bytes=0-${f.xorb.length - 1}` } })).status, 403, 'bytes outside the signed range are refused')
  t.equal((await cas(rv, `/v1/reconstructions/${shard.fileHex}`, { headers: { range: `bytes=${f.data.length}-` } })).status, 416, 'a range past the end: 416')
  await expectError(t, await cas(rv, `/v1/reconstructions/xyz`), 400, /Invalid file id/, 'malformed file id')

  // Token endpoints: access rules of the API.
  t.equal((await fetch(`${server.url}/api/models/admin/victim/xet-read-token/main`)).status, 404, 'anonymous read token for a private repo: 404')
  t.equal((await fetch(`${server.url}/api/models/mallory/attacker/xet-write-token/main`)).status, 401, 'anonymous write token: 401')
  t.equal((await fetch(`${server.url}/api/models/admin/victim/xet-write-token/main`, { headers: { authorization: `Bearer ${malloryToken}` } })).status, 404, 'another user\'s private repo: 404')
  const both = await authed(server, '/api/models/mallory/attacker/xet-read-token/main')
  t.equal(both.status, 200)
  t.match(both.headers.get('x-xet-access-token'), /^xet1\./, 'headers carry the token too')
  t.equal(both.headers.get('x-xet-cas-url'), `${server.url}/cas`)
  t.equal((await authed(server, '/api/models/mallory/attacker/xet-read-token/nope')).status, 404, 'unknown revision: 404')
})
