import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import {
  createRepo,
  deleteFile,
  deleteRepo,
  downloadFile,
  fileDownloadInfo,
  fileExists,
  HubApiError,
  listFiles,
  modelInfo,
  datasetInfo,
  repoExists,
  uploadFiles,
  whoAmI,
  type RepoDesignation,
} from '@huggingface/hub'
import { startServer } from '../helpers/server.js'

const MiB = 1024 * 1024
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const gitBlobId = (b: Uint8Array) => createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex')

/** A model folder: small regular files, an empty file, a small LFS file and a 64 MiB one. */
function makeFolder(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>([
    ['config.json', Buffer.from(JSON.stringify({ model_type: 'bert', hidden_size: 8 }, null, 2))],
    ['README.md', Buffer.from('---\nlicense: mit\nlibrary_name: transformers\n---\n# A test model\n')],
    ['sub/dir/notes.txt', Buffer.from('nested notes\n')],
    ['empty.txt', Buffer.alloc(0)],
    ['weights.bin', randomBytes(3 * MiB)],
    ['model.safetensors', randomBytes(64 * MiB)],
  ])
  for (const [p, content] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true })
    fs.writeFileSync(path.join(dir, p), content)
  }
  return files
}

t.test('@huggingface/hub: push a model folder and pull it back byte-identical', async (t) => {
  // 16 MiB parts: the 64 MiB file goes through the multipart transfer, the 3 MiB one through basic.
  const server = await startServer(t, { HUBD_MULTIPART_CHUNK_SIZE: String(16 * MiB) })
  const common = { hubUrl: server.url, accessToken: server.token }
  const repo: RepoDesignation = { type: 'model', name: 'admin/js-model' }

  const me = await whoAmI(common)
  t.equal(me.name, 'admin')
  t.equal(me.type, 'user')

  const created = await createRepo({ ...common, repo })
  t.equal(created.repoUrl, `${server.url}/admin/js-model`)
  const again = await createRepo({ ...common, repo }).catch((err: unknown) => err)
  t.ok(again instanceof HubApiError && again.statusCode === 409, 'creating it again is a 409')

  const dir = t.testdir({})
  const files = makeFolder(path.join(dir, 'folder'))
  const out = await uploadFiles({
    ...common,
    repo,
    files: [{ path: '', content: pathToFileURL(path.join(dir, 'folder')) }],
    commitTitle: 'Upload the model',
    useXet: false,
  })
  t.match(out?.commit.oid, /^[0-9a-f]{40}$/)
  const logs = server.logs()
  t.match(logs, '/api/lfs/multipart/', 'the 64 MiB file used the multipart transfer')
  t.match(logs, '/api/lfs/upload/', 'the small LFS file used the basic transfer')

  const listed = new Map<string, { type: string; size: number; oid?: string; lfs?: { oid: string } }>()
  for await (const e of listFiles({ ...common, repo, recursive: true })) listed.set(e.path, e)
  t.same(
    [...listed.keys()].sort(),
    ['.gitattributes', 'README.md', 'config.json', 'empty.txt', 'model.safetensors', 'sub', 'sub/dir', 'sub/dir/notes.txt', 'weights.bin'],
  )
  t.equal(listed.get('sub')?.type, 'directory')

  const info = await modelInfo({ ...common, name: 'admin/js-model', additionalFields: ['sha'] })
  t.equal(info.name, 'admin/js-model')

  for (const [p, content] of files) {
    const isLfs = p.endsWith('.bin') || p.endsWith('.safetensors')
    const entry = listed.get(p)!
    t.equal(entry.size, content.length, `${p}: listed size`)
    if (isLfs) t.equal(entry.lfs?.oid, sha256(content), `${p}: listed lfs oid`)
    else t.equal(entry.oid, gitBlobId(content), `${p}: listed git blob id`)

    if (content.length === 0) {
      // Like the Hub (docs/hub-api.md §7.9): a plain GET gives the empty body; hub-js's bytes=0-0 probe gets 416.
      const res = await fetch(`${server.url}/admin/js-model/resolve/main/${p}`)
      t.equal(res.status, 200)
      t.equal(res.headers.get('etag'), `"${gitBlobId(content)}"`)
      t.equal((await res.arrayBuffer()).byteLength, 0, `${p}: empty`)
      continue
    }
    const blob = await downloadFile({ ...common, repo, path: p })
    t.ok(blob, `${p}: downloadable`)
    t.equal(sha256(new Uint8Array(await blob!.arrayBuffer())), sha256(content), `${p}: byte-identical`)

    const dl = await fileDownloadInfo({ ...common, repo, path: p })
    t.equal(dl?.size, content.length, `${p}: fileDownloadInfo size`)
    t.equal(dl?.etag, `"${isLfs ? sha256(content) : gitBlobId(content)}"`, `${p}: fileDownloadInfo etag`)

    // Ranges: hub-js slices lazily with Range requests.
    const start = Math.floor(content.length / 3)
    const end = Math.min(content.length, start + 5 * MiB)
    const slice = new Uint8Array(await blob!.slice(start, end).arrayBuffer())
    t.equal(sha256(slice), sha256(content.subarray(start, end)), `${p}: range ${start}-${end} identical`)
  }

  const pointer = await downloadFile({ ...common, repo, path: 'model.safetensors', raw: true })
  t.equal(
    await pointer!.text(),
    `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(files.get('model.safetensors')!)}\nsize ${64 * MiB}\n`,
  )
  t.equal(await fileDownloadInfo({ ...common, repo, path: 'missing.txt' }), null, 'a missing file is null')

  await deleteFile({ ...common, repo, path: 'sub/dir/notes.txt' })
  t.equal(await fileExists({ ...common, repo, path: 'sub/dir/notes.txt' }), false)
  t.equal(await fileExists({ ...common, repo, path: 'config.json' }), true)

  await deleteRepo({ ...common, repo })
  t.equal(await repoExists({ ...common, repo }), false)
})

t.test('@huggingface/hub: dataset repo round trip', async (t) => {
  const server = await startServer(t)
  const common = { hubUrl: server.url, accessToken: server.token }
  const repo: RepoDesignation = { type: 'dataset', name: 'admin/js-data' }
  await createRepo({ ...common, repo })
  const parquet = randomBytes(2 * MiB)
  const csv = Buffer.from('a,b\n1,2\n')
  await uploadFiles({
    ...common,
    repo,
    useXet: false,
    files: [
      { path: 'data/train.parquet', content: new Blob([parquet]) },
      { path: 'data/test.csv', content: new Blob([csv]) },
    ],
  })
  const info = await datasetInfo({ ...common, name: 'admin/js-data' })
  t.equal(info.name, 'admin/js-data')
  const got = await downloadFile({ ...common, repo, path: 'data/train.parquet' })
  t.equal(sha256(new Uint8Array(await got!.arrayBuffer())), sha256(parquet))
  const dl = await fileDownloadInfo({ ...common, repo, path: 'data/test.csv' })
  t.equal(dl?.size, csv.length)
  t.equal(await repoExists({ ...common, repo: { type: 'model', name: 'admin/js-data' } }), false, 'types do not mix')
  await deleteRepo({ ...common, repo })
  t.equal(await repoExists({ ...common, repo }), false)
})

// With HUBD_XET=off the server is LFS-only, and says so nowhere (hub-js-xet.test.ts covers `on`).
t.test('@huggingface/hub: listings follow Link pagination; no Xet signal anywhere with HUBD_XET=off', async (t) => {
  const server = await startServer(t, { HUBD_XET: 'off' })
  const common = { hubUrl: server.url, accessToken: server.token }
  const repo: RepoDesignation = { type: 'model', name: 'admin/many' }
  await createRepo({ ...common, repo })
  const files = Array.from({ length: 120 }, (_, i) => ({ path: `f/${String(i).padStart(3, '0')}.txt`, content: new Blob([`file ${i}`]) }))
  await uploadFiles({ ...common, repo, files, useXet: false })

  // expand=true pages hold 50 entries: 122 entries need three pages joined through Link headers.
  const page = await fetch(`${server.url}/api/models/admin/many/tree/main?recursive=true&expand=true`)
  t.match(page.headers.get('link'), /^<http:\/\/127\.0\.0\.1:\d+\/api\/models\/admin\/many\/tree\/main\?recursive=true&expand=true&cursor=[\w-]+>; rel="next"$/)
  const all: string[] = []
  for await (const e of listFiles({ ...common, repo, recursive: true, expand: true })) {
    all.push(e.path)
    t.notOk('xetHash' in e, `${e.path}: no xetHash`)
  }
  t.equal(all.length, 122)
  t.equal(new Set(all).size, 122, 'no entry repeated across pages')

  const head = await fetch(`${server.url}/admin/many/resolve/main/f/000.txt`, { method: 'HEAD' })
  t.same([...head.headers.keys()].filter((h) => h.startsWith('x-xet')), [], 'no X-Xet-* header')
  t.notMatch(head.headers.get('content-type') ?? '', 'xet')
  const batch = await fetch(`${server.url}/admin/many.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', transfers: ['basic', 'multipart', 'xet'], objects: [{ oid: 'a'.repeat(64), size: 10 }] }),
  })
  t.equal(((await batch.json()) as { transfer: string }).transfer, 'basic', 'the batch never answers xet')
})
