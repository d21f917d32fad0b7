import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { createRepo, downloadFile, fileDownloadInfo, uploadFiles, type RepoDesignation } from '@huggingface/hub'
import { gitClient, hasGitLfs, scratchDir, tokenUrl } from '../helpers/git.js'
import { startServer, type TestServer } from '../helpers/server.js'

const MiB = 1024 * 1024
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** Where the server's own log says requests went (method + URL of every request). */
function requests(server: TestServer, from = 0): string[] {
  return server
    .logs()
    .slice(from)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { req?: { method: string; url: string } })
    .filter((l) => l.req)
    .map((l) => `${l.req!.method} ${l.req!.url}`)
}

t.test('@huggingface/hub uploads 64 MiB through Xet; it downloads byte-identical every way; a new version stores only its changes', async (t) => {
  const server = await startServer(t)
  const common = { hubUrl: server.url, accessToken: server.token }
  const repo: RepoDesignation = { type: 'model', name: 'admin/xet-model' }
  await createRepo({ ...common, repo })

  const v1 = randomBytes(64 * MiB)
  const logStart = server.logs().length
  const out = await uploadFiles({ ...common, repo, files: [{ path: 'model.bin', content: new Blob([v1]) }], commitTitle: 'v1' })
  t.match(out?.commit.oid, /^[0-9a-f]{40}$/)
  const sent = requests(server, logStart)
  t.ok(sent.some((r) => r.startsWith('POST /cas/v1/xorbs/default/')), 'xorbs went to the CAS')
  t.ok(sent.some((r) => r === 'POST /cas/v1/shards'), 'and a shard')
  t.notOk(sent.some((r) => r.includes('/api/lfs/')), 'nothing through LFS transfers')
  const after1 = server.ctx.xet.stats()
  t.equal(after1.unpacked, 64 * MiB, 'the index holds exactly the file\'s bytes')
  t.ok(after1.xorbs >= 1 && after1.chunks >= 64 * MiB / (128 * 1024), `${after1.xorbs} xorbs, ${after1.chunks} chunks`)

  // Through Xet (reconstruction v2 + signed xorb ranges).
  const info = await fileDownloadInfo({ ...common, repo, path: 'model.bin' })
  t.ok(info?.xet, 'resolve steers hub-js to Xet')
  t.equal(info?.size, v1.length)
  const viaXet = await downloadFile({ ...common, repo, path: 'model.bin' })
  t.equal(sha256(new Uint8Array(await viaXet!.arrayBuffer())), sha256(v1), 'Xet download is byte-identical')
  const start = 10 * MiB + 12345
  const slice = new Uint8Array(await viaXet!.slice(start, start + 3 * MiB).arrayBuffer())
  t.equal(sha256(slice), sha256(v1.subarray(start, start + 3 * MiB)), 'a Xet range mid-file')

  // Plain HTTP (clients that do not speak Xet): reconstructed by the server, with Range.
  const plain = await downloadFile({ ...common, repo, path: 'model.bin', xet: false })
  t.equal(sha256(new Uint8Array(await plain!.arrayBuffer())), sha256(v1), 'plain resolve is byte-identical')
  const res = await fetch(`${server.url}/admin/xet-model/resolve/main/model.bin`, { headers: { range: `bytes=${start}-${start + MiB}` } })
  t.equal(res.status, 206)
  t.equal(res.headers.get('content-range'), `bytes ${start}-${start + MiB}/${v1.length}`)
  t.ok(Buffer.from(await res.arrayBuffer()).equals(v1.subarray(start, start + MiB + 1)), 'resolve Range')
  const head = await fetch(`${server.url}/admin/xet-model/resolve/main/model.bin`, { method: 'HEAD' })
  t.match(head.headers.get('x-xet-hash'), /^[0-9a-f]{64}$/, 'HEAD carries X-Xet-Hash')
  t.match(head.headers.get('link'), /rel="xet-auth".*rel="xet-reconstruction-info"/)
  // Tree and paths-info name the same Xet hash (py1 snapshot_download goes to Xet without a HEAD).
  const xetHash = head.headers.get('x-xet-hash')
  const tree = (await (await fetch(`${server.url}/api/models/admin/xet-model/tree/main`)).json()) as { path: string; xetHash?: string }[]
  t.equal(tree.find((e) => e.path === 'model.bin')?.xetHash, xetHash, 'tree carries xetHash')
  t.notOk(tree.find((e) => e.path === '.gitattributes')?.xetHash, 'only Xet files carry xetHash')
  const pi = await fetch(`${server.url}/api/models/admin/xet-model/paths-info/main`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ paths: ['model.bin'] }),
  })
  t.equal(((await pi.json()) as { xetHash?: string }[])[0]?.xetHash, xetHash, 'paths-info carries xetHash')

  // The LFS batch download (git-lfs's path).
  const oid = sha256(v1)
  const batch = await fetch(`${server.url}/admin/xet-model.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'download', transfers: ['basic'], objects: [{ oid, size: v1.length }] }),
  })
  const answer = (await batch.json()) as { objects: { actions?: { download?: { href: string } } }[] }
  const href = answer.objects[0]?.actions?.download?.href
  t.ok(href, 'batch download gives a URL')
  const viaLfs = Buffer.from(await (await fetch(href!)).arrayBuffer())
  t.equal(sha256(viaLfs), oid, 'LFS download is byte-identical')

  // git clone with git-lfs (smudges through the batch download of the Xet-backed object).
  if (hasGitLfs()) {
    const { git } = await gitClient(t, { lfs: true })
    const dir = scratchDir(t)
    await git(['clone', '-q', tokenUrl(server, 'admin/xet-model'), 'clone'], { cwd: dir })
    t.equal(sha256(fs.readFileSync(path.join(dir, 'clone', 'model.bin'))), oid, 'git-lfs smudged the file byte-identical')
  }

  // Version 2: 3 MiB changed in the middle. hub-js asks the global dedup index for the first
  // chunk and learns the xorbs of version 1, so only the changed chunks travel and get stored.
  const v2 = Buffer.from(v1)
  randomBytes(3 * MiB).copy(v2, 30 * MiB)
  const before = server.ctx.xet.stats()
  const log2 = server.logs().length
  await uploadFiles({ ...common, repo, files: [{ path: 'model.bin', content: new Blob([v2]) }], commitTitle: 'v2' })
  t.ok(requests(server, log2).some((r) => r.startsWith('GET /cas/v1/chunks/default/')), 'the client asked the dedup index')
  const after2 = server.ctx.xet.stats()
  const newBytes = after2.unpacked - before.unpacked
  const newChunks = after2.chunks - before.chunks
  t.ok(newBytes >= 3 * MiB && newBytes <= 3 * MiB + 512 * 1024, `only the changed chunks were stored: ${newBytes} bytes in ${newChunks} new chunks`)
  const v2back = await downloadFile({ ...common, repo, path: 'model.bin' })
  t.equal(sha256(new Uint8Array(await v2back!.arrayBuffer())), sha256(v2), 'version 2 downloads byte-identical through Xet')
  const v2plain = await downloadFile({ ...common, repo, path: 'model.bin', xet: false })
  t.equal(sha256(new Uint8Array(await v2plain!.arrayBuffer())), sha256(v2), 'and through plain resolve')
  const v1again = await downloadFile({ ...common, repo, path: 'model.bin', revision: out!.commit.oid, xet: false })
  t.equal(sha256(new Uint8Array(await v1again!.arrayBuffer())), sha256(v1), 'version 1 is still there')

  // Another repo uploading version 1 again: found entirely by dedup, nothing new stored.
  const other: RepoDesignation = { type: 'model', name: 'admin/xet-copy' }
  await createRepo({ ...common, repo: other })
  const before3 = server.ctx.xet.stats()
  await uploadFiles({ ...common, repo: other, files: [{ path: 'copy.bin', content: new Blob([v1]) }], commitTitle: 'copy' })
  t.equal(server.ctx.xet.stats().unpacked - before3.unpacked, 0, 'a copy into another repo stores no new chunk')
  const copy = await downloadFile({ ...common, repo: other, path: 'copy.bin', xet: false })
  t.equal(sha256(new Uint8Array(await copy!.arrayBuffer())), oid)
})

t.test('HUBD_XET=off: hub-js is answered with LFS, the token endpoints say 501, no CAS', async (t) => {
  const server = await startServer(t, { HUBD_XET: 'off' })
  const common = { hubUrl: server.url, accessToken: server.token }
  const repo: RepoDesignation = { type: 'model', name: 'admin/lfs-only' }
  await createRepo({ ...common, repo })
  const data = randomBytes(2 * MiB)
  await uploadFiles({ ...common, repo, files: [{ path: 'w.bin', content: new Blob([data]) }] })
  const sent = requests(server)
  t.ok(sent.some((r) => r.startsWith('PUT /api/lfs/upload/')), 'the basic LFS transfer was used')
  t.notOk(sent.some((r) => r.startsWith('POST /cas/')), 'no CAS call')
  const info = await fileDownloadInfo({ ...common, repo, path: 'w.bin' })
  t.notOk(info?.xet, 'no Xet signals on resolve')
  const tree = (await (await fetch(`${server.url}/api/models/admin/lfs-only/tree/main`)).json()) as { path: string; xetHash?: string }[]
  t.notOk(tree.some((e) => 'xetHash' in e), 'no xetHash in tree')
  const tok = await fetch(`${server.url}/api/models/admin/lfs-only/xet-write-token/main`, { headers: { authorization: `Bearer ${server.token}` } })
  t.equal(tok.status, 501)
  t.match(tok.headers.get('x-error-message'), /HF_HUB_DISABLE_XET/)
  const cas = await fetch(`${server.url}/cas/v1/shards`, { method: 'POST', body: 'x' })
  t.equal(cas.status, 404, 'no CAS routes')
})
