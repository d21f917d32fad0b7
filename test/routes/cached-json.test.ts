// Big JSON answers (repo info, tree and commits pages, listings) are cached and sent gzipped to
// clients that accept it, as requests, httpx and fetch all do; and the whole repo info answer is
// remembered while neither the repo's row nor its refs change. Checked here: the bytes, the
// headers, every form of Accept-Encoding, HEAD, freshness after commits and row changes, and the
// real @huggingface/hub client getting gzip and reading it.
import http from 'node:http'
import zlib from 'node:zlib'
import t from 'tap'
import { listCommits, listFiles, listModels, modelInfo } from '@huggingface/hub'
import { acceptsGzip } from '../../server/protocol/accept-encoding.js'
import { authed, commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'

interface Raw {
  status: number
  headers: http.IncomingHttpHeaders
  /** The bytes as sent. */
  wire: Buffer
  /** The bytes decoded, as a client sees them. */
  body: Buffer
}

function get(server: TestServer, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const wire = Buffer.concat(chunks)
        const body = res.headers['content-encoding'] === 'gzip' && method !== 'HEAD' ? zlib.gunzipSync(wire) : wire
        resolve({ status: res.statusCode!, headers: res.headers, wire, body })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** The first answer starts the gzip copy on the thread pool; ask until it is there (or give up). */
async function gzipped(server: TestServer, path: string, acceptEncoding = 'gzip, deflate'): Promise<Raw> {
  for (let i = 0; i < 100; i++) {
    const r = await get(server, path, { 'accept-encoding': acceptEncoding })
    if (r.headers['content-encoding'] === 'gzip') return r
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${path}: never gzipped`)
}

const put = (path: string, text: string) => ({ key: 'file', value: { path, content: Buffer.from(text).toString('base64'), encoding: 'base64' } })
const header = (summary: string) => ({ key: 'header', value: { summary } })

async function bigRepo(server: TestServer, name: string, files: number): Promise<string> {
  await createRepo(server, name)
  const lines: unknown[] = [header('many files')]
  for (let i = 0; i < files; i++) lines.push(put(`folder/file-${String(i).padStart(4, '0')}.txt`, `file ${i}\n`))
  lines.push(put('config.json', '{}'))
  const res = await commitLines(server, `models/admin/${name}`, 'main', lines)
  if (res.status !== 200) throw new Error(`commit: ${res.status} ${await res.text()}`)
  // And enough history for a commits page worth compressing.
  for (let i = 0; i < 30; i++) {
    const small = await commitLines(server, `models/admin/${name}`, 'main', [header(`small change ${i}`), put('changes.txt', `change ${i}\n`)])
    if (small.status !== 200) throw new Error(`commit: ${small.status} ${await small.text()}`)
  }
  return `admin/${name}`
}

t.test('Accept-Encoding: which values accept gzip', async (t) => {
  const yes = ['gzip', 'gzip, deflate', 'deflate, gzip;q=0.5', 'GZIP', 'x-gzip', '*', 'br;q=1, *;q=0.1', 'gzip ; q=1.0', 'identity, gzip;q=0.001']
  const no = ['', 'identity', 'deflate', 'br', 'gzip;q=0', 'gzip; q=0.000', '*;q=0', 'gzip;q=0, *', 'gzip;q=garbage', 'gzipx']
  for (const v of yes) t.ok(acceptsGzip(v), `accepts: ${JSON.stringify(v)}`)
  for (const v of no) t.notOk(acceptsGzip(v), `refuses: ${JSON.stringify(v)}`)
  t.notOk(acceptsGzip(undefined), 'no header')
})

t.test('big JSON answers are gzipped for clients that accept it, and only for them', async (t) => {
  const s = await startServer(t)
  const repo = await bigRepo(s, 'many', 300)
  const paths = [
    `/api/models/${repo}`,
    `/api/models/${repo}?blobs=true`,
    `/api/models/${repo}/revision/main`,
    `/api/models/${repo}/tree/main/folder`,
    `/api/models/${repo}/tree/main?recursive=true&expand=true`,
    `/api/models/${repo}/commits/main?limit=1000`,
  ]
  for (const path of paths) {
    const plain = await get(s, path)
    t.equal(plain.status, 200, path)
    t.equal(plain.headers['content-encoding'], undefined, `${path}: plain without Accept-Encoding`)
    t.ok(plain.wire.length >= 4096, `${path}: big enough to be worth gzip (${plain.wire.length} bytes)`)
    t.equal(plain.headers.vary, 'Accept-Encoding', `${path}: Vary on the plain answer too`)
    const gz = await gzipped(s, path)
    t.same(gz.body, plain.body, `${path}: gzip decodes to the plain answer`)
    t.equal(gz.headers['content-length'], String(gz.wire.length), `${path}: Content-Length counts the gzipped bytes`)
    t.ok(gz.wire.length < plain.wire.length / 2, `${path}: smaller (${gz.wire.length} vs ${plain.wire.length})`)
    t.equal(gz.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(gz.headers.vary, 'Accept-Encoding')
    for (const refused of ['identity', 'gzip;q=0', 'br', '*;q=0']) {
      const r = await get(s, path, { 'accept-encoding': refused })
      t.equal(r.headers['content-encoding'], undefined, `${path}: plain for ${refused}`)
      t.same(r.body, plain.body)
    }
    t.equal((await get(s, path, { 'accept-encoding': '*' })).headers['content-encoding'], 'gzip', `${path}: * accepts gzip`)
    const head = await get(s, path, { 'accept-encoding': 'gzip' }, 'HEAD')
    t.equal(head.status, 200)
    t.equal(head.headers['content-encoding'], 'gzip', `${path}: HEAD announces what GET sends`)
    t.equal(head.headers['content-length'], gz.headers['content-length'])
    t.equal(head.wire.length, 0)
  }
  // Listings (tags, 100 repos a page) too; small answers stay plain, without Vary.
  for (let i = 0; i < 40; i++) await createRepo(s, `small-${i}`)
  const listing = await gzipped(s, '/api/models?limit=100&full=true')
  t.equal((JSON.parse(listing.body.toString()) as unknown[]).length, 41)
  const small = await get(s, '/api/models/admin/small-1', { 'accept-encoding': 'gzip' })
  t.equal(small.status, 200)
  t.equal(small.headers['content-encoding'], undefined, 'a small answer is sent plain')
  t.equal(small.headers.vary, undefined)
  // Errors are not compressed either.
  const missing = await get(s, `/api/models/${repo}/tree/main/nope`, { 'accept-encoding': 'gzip' })
  t.equal(missing.status, 404)
  t.equal(missing.headers['content-encoding'], undefined)
  t.equal(missing.headers['x-error-code'], 'EntryNotFound')
})

t.test('cached answers follow commits and changes to the repo row', async (t) => {
  const s = await startServer(t)
  const repo = await bigRepo(s, 'fresh', 300)
  const info = async (token?: string) => {
    const r = await get(s, `/api/models/${repo}`, { 'accept-encoding': 'gzip', ...(token ? { authorization: `Bearer ${token}` } : {}) })
    return { status: r.status, json: r.status === 200 ? (JSON.parse(r.body.toString()) as Record<string, unknown>) : null, gzip: r.headers['content-encoding'] }
  }
  const first = await gzipped(s, `/api/models/${repo}`, 'gzip')
  const before = JSON.parse(first.body.toString()) as { sha: string; siblings: unknown[]; downloads: number; private: boolean }
  t.equal(before.siblings.length, 303)
  t.equal(before.downloads, 0)

  // A commit: a new answer, gzipped in its turn, with the new file.
  const res = await commitLines(s, `models/${repo}`, 'main', [header('one more'), put('late.txt', 'late')])
  t.equal(res.status, 200)
  const after = await info()
  t.not(after.json!.sha, before.sha, 'new sha at once')
  t.equal((after.json!.siblings as unknown[]).length, 304, 'the new file is listed')
  const again = await gzipped(s, `/api/models/${repo}`, 'gzip')
  t.same(JSON.parse(again.body.toString()), after.json, 'its gzip copy says the same')
  const page = await get(s, `/api/models/${repo}/commits/main`, { 'accept-encoding': 'gzip' })
  t.equal(page.headers['x-total-count'], '33', 'commits page of the new head')
  t.equal((JSON.parse(page.body.toString()) as { title: string }[])[0]!.title, 'one more')

  // Downloads (a row change, no commit) show in the next answer.
  t.equal((await fetch(`${s.url}/${repo}/resolve/main/config.json`)).status, 200)
  s.ctx.downloads.flush()
  t.equal((await info()).json!.downloads, 1, 'downloads counted')

  // Private: anonymous callers lose the warm answer at once; the owner sees the flag.
  const toggle = await authed(s, `/api/models/${repo}/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ private: true }) })
  t.equal(toggle.status, 200)
  t.equal((await info()).status, 404, 'hidden from anonymous callers')
  const owner = await info(s.token)
  t.equal(owner.status, 200)
  t.equal(owner.json!.private, true)
})

t.test('@huggingface/hub gets gzip for big answers and reads them', async (t) => {
  const s = await startServer(t)
  const repo = await bigRepo(s, 'client', 1200)
  for (let i = 0; i < 110; i++) await createRepo(s, `r-${String(i).padStart(3, '0')}`)
  const encodings: string[] = []
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    if (res.ok) encodings.push(res.headers.get('content-encoding') ?? 'none')
    return res
  }
  const common = { hubUrl: s.url, accessToken: s.token, fetch: recording }
  // Twice each: the first answer may still be plain while its gzip copy is made.
  for (let round = 0; round < 2; round++) {
    encodings.length = 0
    const info = await modelInfo({ ...common, name: repo })
    t.equal(info.name, repo)
    const files: string[] = []
    for await (const f of listFiles({ ...common, repo, recursive: true })) files.push(f.path)
    t.equal(files.filter((p) => p.startsWith('folder/file-')).length, 1200, 'every file, over two tree pages')
    t.equal(files.length, 1200 + 4, 'and the others: .gitattributes, config.json, changes.txt, folder')
    let commits = 0
    for await (const c of listCommits({ ...common, repo })) {
      t.ok(c.oid)
      commits++
    }
    t.equal(commits, 32)
    const models: string[] = []
    for await (const m of listModels({ ...common, search: { owner: 'admin' }, additionalFields: ['tags'] })) models.push(m.name)
    t.equal(models.length, 111, 'every repo, over two listing pages')
    if (round === 1) t.ok(encodings.filter((e) => e === 'gzip').length >= 4, `gzip used: ${encodings.join(' ')}`)
  }
})
