/**
 * Read-side errors and edge cases (docs/hub-api.md §1.3, §1.5, §1.10, §3.1, §5.2, §5.3, §7.6): RepoNotFound,
 * RevisionNotFound, EntryNotFound with X-Repo-Commit, private repos never leaking, range
 * requests, create-repo conflicts and name validation, validate-yaml and preupload answers.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { authed, commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import {
  branchHead,
  createRepoAs,
  expectHeadError,
  expectHubError,
  fileLine,
  headerLine,
  makeUser,
  uploadLfs,
} from '../helpers/error-helpers.js'

/** A GET or HEAD or POST, with the admin token unless `token` is null (anonymous) or given. */
function call(s: TestServer, method: string, path: string, token: string | null = s.token, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {}
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = typeof body === 'string' ? 'application/x-ndjson' : 'application/json'
  const init: RequestInit = { method, headers }
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body)
  return fetch(`${s.url}${path}`, init)
}

const PREUPLOAD_BODY = { files: [{ path: 'a.txt', size: 1, sample: 'YQ==' }] }
const COMMIT_BODY = [headerLine(), fileLine('a.txt', 'a')].map((l) => JSON.stringify(l)).join('\n')

/** Every read and write endpoint of a repo, for a given revision. */
function endpoints(repo: string, rev = 'main'): [string, string, string, unknown?][] {
  const r = encodeURIComponent(rev)
  return [
    ['info', 'GET', `/api/models/${repo}`],
    ['info at revision', 'GET', `/api/models/${repo}/revision/${r}`],
    ['tree', 'GET', `/api/models/${repo}/tree/${r}`],
    ['paths-info', 'POST', `/api/models/${repo}/paths-info/${r}`, { paths: ['a.txt'] }],
    ['resolve', 'GET', `/${repo}/resolve/${r}/config.json`],
    ['raw', 'GET', `/${repo}/raw/${r}/config.json`],
    ['preupload', 'POST', `/api/models/${repo}/preupload/${r}`, PREUPLOAD_BODY],
    ['commit', 'POST', `/api/models/${repo}/commit/${r}`, COMMIT_BODY],
  ]
}

t.test('unknown repo is 404 RepoNotFound everywhere', async (t) => {
  const s = await startServer(t)
  for (const [what, method, path, body] of [
    ...endpoints('admin/does-not-exist'),
    ['dataset info', 'GET', '/api/datasets/admin/nope'],
    ['space tree', 'GET', '/api/spaces/admin/nope/tree/main'],
    ['dataset resolve', 'GET', '/datasets/admin/nope/resolve/main/x.csv'],
    ['lfs batch', 'POST', '/admin/nope.git/info/lfs/objects/batch', { operation: 'upload', objects: [] }],
  ] as [string, string, string, unknown?][]) {
    const res = await call(s, method, path, s.token, body)
    await expectHubError(t, res, { status: 404, code: 'RepoNotFound' }, what)
  }
  const head = await call(s, 'HEAD', '/admin/does-not-exist/resolve/main/config.json')
  await expectHeadError(t, head, { status: 404, code: 'RepoNotFound' }, 'HEAD resolve')

  // Anonymous callers get RepoNotFound too (the spec's table allows 401 for them; never 403).
  for (const [what, method, path, body] of endpoints('admin/does-not-exist')) {
    const res = await call(s, method, path, null, body)
    t.ok(res.status === 404 || res.status === 401, `anonymous ${what}: 404 or 401 (${res.status})`)
    t.equal(res.headers.get('x-error-code'), 'RepoNotFound', `anonymous ${what}: RepoNotFound`)
    await res.arrayBuffer()
  }
})

t.test('one-segment ids and unknown /api/models/... paths are RepoNotFound', async (t) => {
  const s = await startServer(t)
  await createRepo(s, 'exists')
  for (const path of [
    '/api/models/gpt2',
    '/api/models/gpt2/revision/main',
    '/api/models/gpt2/tree/main',
    '/api/datasets/squad',
    '/gpt2/resolve/main/config.json',
    '/datasets/squad/resolve/main/data.csv',
    '/api/models/admin/missing/no-such-endpoint',
    '/api/models/admin/missing/refs/extra/segments',
    '/api/models/a/b/c/d',
    '/api/kernels/admin/exists',
    '/api/kernels/admin/exists/revision/main',
  ]) {
    const res = await call(s, 'GET', path)
    await expectHubError(t, res, { status: 404, code: 'RepoNotFound' }, path)
  }
  // An unknown endpoint on a repo the caller can see is a plain 404 (the repo is there)...
  const unknownEndpoint = await call(s, 'GET', '/api/models/admin/exists/no-such-endpoint')
  await expectHubError(t, unknownEndpoint, { status: 404, code: null }, 'unknown endpoint on a visible repo')
  // ...but on a private repo the caller cannot see it must not reveal the repo.
  await createRepo(s, 'private-one', { private: true })
  const hidden = await call(s, 'GET', '/api/models/admin/private-one/no-such-endpoint', makeUser(s, 'eve'))
  await expectHubError(t, hidden, { status: 404, code: 'RepoNotFound' }, 'unknown endpoint on an invisible repo')
  const head = await call(s, 'HEAD', '/gpt2/resolve/main/config.json')
  await expectHeadError(t, head, { status: 404, code: 'RepoNotFound' }, 'HEAD one-segment resolve')
  // A route that is not repo-shaped is a plain 404, not RepoNotFound.
  const other = await call(s, 'GET', '/this/is/not/a/route/at/all')
  t.equal(other.status, 404)
  t.not(other.headers.get('x-error-code'), 'RepoNotFound', 'a non-repo route is not RepoNotFound')
  await other.arrayBuffer()
})

t.test('unknown revision is 404 RevisionNotFound "Invalid rev id: …"', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'revs')
  for (const [what, method, path, body] of endpoints(repo, 'no-such-branch').filter(([w]) => w !== 'info')) {
    const res = await call(s, method, path, s.token, body)
    await expectHubError(t, res, { status: 404, code: 'RevisionNotFound', message: 'Invalid rev id: no-such-branch' }, what)
  }
  const sha = '0123456789abcdef0123456789abcdef01234567'
  const res = await call(s, 'GET', `/api/models/${repo}/revision/${sha}`)
  await expectHubError(t, res, { status: 404, code: 'RevisionNotFound', message: `Invalid rev id: ${sha}` }, 'unknown commit id')
  // Decoded exactly once (docs/hub-api.md §1.4): a doubly-encoded ref keeps its %2F.
  const dbl = await call(s, 'GET', `/${repo}/resolve/refs%252Fpr%252F2/config.json`)
  await expectHubError(t, dbl, { status: 404, code: 'RevisionNotFound', message: 'Invalid rev id: refs%2Fpr%2F2' }, 'double encoding')
  // A malformed percent-encoding is a 400 in the Hub format (the router answers it before any route).
  for (const path of [`/${repo}/resolve/ma%zzin/config.json`, `/api/models/${repo}/revision/ma%zzin`, `/api/models/${repo}/tree/main/a%zz`]) {
    await expectHubError(t, await call(s, 'GET', path), { status: 400, code: null }, `bad encoding ${path}`)
  }
  const head = await call(s, 'HEAD', `/${repo}/resolve/nope/.gitattributes`)
  await expectHeadError(t, head, { status: 404, code: 'RevisionNotFound', message: 'Invalid rev id: nope' }, 'HEAD resolve')
})

t.test('unknown file is 404 EntryNotFound with X-Repo-Commit on resolve', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'entries')
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('dir/a.txt', 'a')])).status, 200)
  const head = await branchHead(s, repo)
  for (const [what, method, path] of [
    ['resolve missing file', 'GET', `/${repo}/resolve/main/missing.txt`],
    ['resolve missing nested file', 'GET', `/${repo}/resolve/main/dir/missing.txt`],
    ['resolve a folder', 'GET', `/${repo}/resolve/main/dir`],
    ['raw missing file', 'GET', `/${repo}/raw/main/missing.txt`],
    ['resolve at a commit id', 'GET', `/${repo}/resolve/${head}/missing.txt`],
  ]) {
    const res = await call(s, method!, path!)
    t.equal(res.headers.get('x-repo-commit'), head, `${what}: X-Repo-Commit`)
    await expectHubError(t, res, { status: 404, code: 'EntryNotFound' }, what)
  }
  const h = await call(s, 'HEAD', `/${repo}/resolve/main/missing.txt`)
  t.equal(h.headers.get('x-repo-commit'), head, 'HEAD: X-Repo-Commit')
  await expectHeadError(t, h, { status: 404, code: 'EntryNotFound' }, 'HEAD missing file')
  const tree = await call(s, 'GET', `/api/models/${repo}/tree/main/nope`)
  await expectHubError(t, tree, { status: 404, code: 'EntryNotFound' }, 'tree of a missing folder')
  // Anonymous on a public repo: same answer (public repos are readable anonymously).
  const anon = await call(s, 'GET', `/${repo}/resolve/main/missing.txt`, null)
  await expectHubError(t, anon, { status: 404, code: 'EntryNotFound' }, 'anonymous missing file')
})

t.test('a private repo is RepoNotFound to anonymous callers and strangers, never 403', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'hidden', { private: true })
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('config.json', '{}')])).status, 200)
  const bobToken = makeUser(s, 'bob')
  const bobRead = makeUser(s, 'carol', 'read')
  for (const [who, token] of [
    ['anonymous', null],
    ['stranger with a write token', bobToken],
    ['stranger with a read token', bobRead],
  ] as [string, string | null][]) {
    for (const [what, method, path, body] of endpoints(repo)) {
      const res = await call(s, method, path, token, body)
      const label = `${who}, ${what}`
      t.not(res.status, 403, `${label}: not 403`)
      if (token === null) {
        t.ok(res.status === 404 || res.status === 401, `${label}: 404 or 401 (${res.status})`)
        t.equal(res.headers.get('x-error-code'), 'RepoNotFound', `${label}: RepoNotFound`)
        await res.arrayBuffer()
      } else {
        await expectHubError(t, res, { status: 404, code: 'RepoNotFound' }, label)
      }
    }
    const head = await call(s, 'HEAD', `/${repo}/resolve/main/config.json`, token)
    t.not(head.status, 403, `${who}, HEAD: not 403`)
    t.equal(head.headers.get('x-error-code'), 'RepoNotFound', `${who}, HEAD: RepoNotFound`)
    // Same answer for a file that does not exist: nothing leaks about the content either.
    const missing = await call(s, 'GET', `/${repo}/resolve/main/nope.txt`, token)
    t.equal(missing.headers.get('x-error-code'), 'RepoNotFound', `${who}, missing file: RepoNotFound`)
    await missing.arrayBuffer()
  }
  // The owner (admin) still sees it.
  t.equal((await call(s, 'GET', `/${repo}/resolve/main/config.json`)).status, 200, 'the owner reads it')
})

t.test('range requests on /resolve', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'ranges')
  const text = 'abcdefghijklmnopqrstuvwxyz0123456789' // 36 bytes, regular file
  const lfsData = randomBytes(5000)
  const oid = await uploadLfs(s, repo, lfsData)
  const res = await commitLines(s, `models/${repo}`, 'main', [
    headerLine(),
    fileLine('small.txt', text),
    { key: 'file', value: { path: 'empty.txt', content: '', encoding: 'base64' } },
    { key: 'lfsFile', value: { path: 'big.bin', algo: 'sha256', oid, size: lfsData.length } },
  ])
  t.equal(res.status, 200)

  for (const [name, content] of [
    ['small.txt', Buffer.from(text)],
    ['big.bin', lfsData],
  ] as const) {
    const size = content.length
    const get = (range?: string) => fetch(`${s.url}/${repo}/resolve/main/${name}`, range ? { headers: { range } } : {})
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=3-9', 3, 9],
      ['bytes=10-', 10, size - 1],
      ['bytes=-5', size - 5, size - 1],
      [`bytes=0-${size + 100}`, 0, size - 1], // end past the end is clamped
      [`bytes=-${size + 100}`, 0, size - 1], // suffix longer than the file is the whole file
      [`bytes=${size - 1}-`, size - 1, size - 1],
    ]
    for (const [range, start, end] of cases) {
      const r = await get(range)
      t.equal(r.status, 206, `${name} ${range}: 206`)
      t.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${size}`, `${name} ${range}: Content-Range`)
      t.equal(r.headers.get('content-length'), String(end - start + 1), `${name} ${range}: Content-Length`)
      t.ok(r.headers.get('x-repo-commit'), `${name} ${range}: metadata headers on 206`)
      const body = Buffer.from(await r.arrayBuffer())
      t.ok(body.equals(content.subarray(start, end + 1)), `${name} ${range}: the right bytes`)
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
      const r = await get(range)
      t.equal(r.headers.get('content-range'), `bytes */${size}`, `${name} ${range}: Content-Range bytes */size`)
      await expectHubError(t, r, { status: 416 }, `${name} ${range}`)
    }
    // No range: the whole file.
    const full = await get()
    t.equal(full.status, 200)
    t.ok(Buffer.from(await full.arrayBuffer()).equals(content), `${name}: full body`)
    // HEAD: full Content-Length, no body.
    const head = await fetch(`${s.url}/${repo}/resolve/main/${name}`, { method: 'HEAD' })
    t.equal(head.status, 200, `${name} HEAD: 200`)
    t.equal(head.headers.get('content-length'), String(size), `${name} HEAD: full Content-Length`)
    t.equal((await head.arrayBuffer()).byteLength, 0, `${name} HEAD: no body`)
  }

  // Empty file: bytes=0-0 is unsatisfiable (docs/hub-api.md §7.9), HEAD says 0.
  const e = await fetch(`${s.url}/${repo}/resolve/main/empty.txt`, { headers: { range: 'bytes=0-0' } })
  t.equal(e.headers.get('content-range'), 'bytes */0')
  await expectHubError(t, e, { status: 416 }, 'empty file bytes=0-0')
  const eh = await fetch(`${s.url}/${repo}/resolve/main/empty.txt`, { method: 'HEAD' })
  t.equal(eh.status, 200)
  t.equal(eh.headers.get('content-length'), '0')
})

t.test('create repo: 409 carries url; invalid names are 422', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'dupe')
  const again = await call(s, 'POST', '/api/repos/create', s.token, { name: 'dupe' })
  const body = await expectHubError(t, again, { status: 409 }, 'second create')
  t.equal(body.url, `${s.url}/${repo}`, '409 body has url')
  // Case-insensitive: the same repo with other casing is a conflict with the canonical url.
  const upper = await call(s, 'POST', '/api/repos/create', s.token, { name: 'DUPE' })
  const upperBody = await expectHubError(t, upper, { status: 409 }, 'create with other casing')
  t.equal(upperBody.url, `${s.url}/${repo}`)
  // The same name as a dataset is another repo.
  t.equal((await call(s, 'POST', '/api/repos/create', s.token, { name: 'dupe', type: 'dataset' })).status, 200)
  const ds = await call(s, 'POST', '/api/repos/create', s.token, { name: 'dupe', type: 'dataset' })
  const dsBody = await expectHubError(t, ds, { status: 409 }, 'dataset twice')
  t.equal(dsBody.url, `${s.url}/datasets/${repo}`)

  for (const [what, payload] of [
    ['double dash', { name: 'a--b' }],
    ['double dot', { name: 'a..b' }],
    ['leading dot', { name: '.hidden' }],
    ['leading dash', { name: '-x' }],
    ['trailing dot', { name: 'x.' }],
    ['ends with .git', { name: 'repo.git' }],
    ['space', { name: 'bad name' }],
    ['non-ASCII', { name: 'modèle' }],
    ['empty', { name: '' }],
    ['97 characters', { name: 'a'.repeat(97) }],
    ['three segments', { name: 'admin/a/b' }],
    ['reserved namespace', { name: 'x', organization: 'api' }],
    ['reserved namespace datasets', { name: 'x', organization: 'datasets' }],
    ['bad organization', { name: 'x', organization: 'bad org' }],
  ] as [string, Record<string, unknown>][]) {
    const res = await call(s, 'POST', '/api/repos/create', s.token, payload)
    await expectHubError(t, res, { status: 422 }, what)
  }
  // None of those created anything.
  const list = await call(s, 'GET', '/api/models/admin/a')
  t.equal(list.headers.get('x-error-code'), 'RepoNotFound', '"admin/a/b" did not create admin/a')
  await list.arrayBuffer()
})

t.test('validate-yaml: invalid YAML is 400 JSON with errors', async (t) => {
  const s = await startServer(t)
  const bad = await call(s, 'POST', '/api/validate-yaml', s.token, { content: '---\nlicense: [mit\n---\n# x\n', repoType: 'model' })
  const body = await expectHubError(t, bad, { status: 400 }, 'invalid yaml')
  t.ok(Array.isArray(body.errors) && (body.errors as unknown[]).length > 0, 'errors is a non-empty list')
  t.type((body.errors as { message?: unknown }[])[0]?.message, 'string', 'each error has a message')
  t.same(body.warnings, [])
  const scalar = await call(s, 'POST', '/api/validate-yaml', s.token, { content: '---\njust a string\n---\n', repoType: 'model' })
  await expectHubError(t, scalar, { status: 400 }, 'metadata that is not a mapping')

  const good = await call(s, 'POST', '/api/validate-yaml', s.token, { content: '---\nlicense: mit\n---\n# x\n', repoType: 'model' })
  t.equal(good.status, 200)
  t.same(await good.json(), { errors: [], warnings: [] })
  const none = await call(s, 'POST', '/api/validate-yaml', null, { content: '# no metadata\n' })
  t.equal(none.status, 200)
  const noneBody = (await none.json()) as { errors: unknown[]; warnings: unknown[] }
  t.same(noneBody.errors, [])
  // A body without content is still answered in JSON (py calls .json() before the status).
  const missing = await call(s, 'POST', '/api/validate-yaml', s.token, { repoType: 'model' })
  t.equal(missing.status, 400)
  t.match(missing.headers.get('content-type') ?? '', /^application\/json/)
  t.type(((await missing.json()) as { error?: unknown }).error, 'string')
})

t.test('preupload answers every path with uploadMode and shouldIgnore', async (t) => {
  const s = await startServer(t, { HUBD_LFS_THRESHOLD: '1000' })
  const repo = await createRepo(s, 'pre')
  t.equal(
    (await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('.gitignore', 'ignored/\n*.log\n'), fileLine('existing.txt', 'x')])).status,
    200,
  )
  const files = [
    { path: 'config.json', size: 10, sample: Buffer.from('{"a": 1}').toString('base64') },
    { path: 'model.safetensors', size: 5000, sample: Buffer.from([0, 1, 2]).toString('base64') },
    { path: 'big.txt', size: 100000, sample: Buffer.from('text').toString('base64') },
    { path: 'binary.dat', size: 10, sample: Buffer.from([0, 0, 0]).toString('base64') },
    { path: 'empty.bin', size: 0, sample: '' },
    { path: 'ignored/x.txt', size: 1, sample: 'YQ==' },
    { path: 'debug.log', size: 1, sample: 'YQ==' },
    { path: 'existing.txt', size: 1, sample: 'eA==' },
    { path: 'dir with space/ünïcode.txt', size: 1, sample: 'YQ==' },
    { path: 'config.json', size: 10, sample: Buffer.from('{"a": 1}').toString('base64') }, // duplicate
  ]
  const res = await call(s, 'POST', `/api/models/${repo}/preupload/main`, s.token, { files })
  t.equal(res.status, 200)
  const answer = (await res.json()) as { files: { path: string; uploadMode: string; shouldIgnore: boolean; oid?: string | null }[] }
  const byPath = new Map(answer.files.map((f) => [f.path, f]))
  for (const f of files) {
    const a = byPath.get(f.path)
    t.ok(a, `${f.path}: answered`)
    t.ok(a?.uploadMode === 'lfs' || a?.uploadMode === 'regular', `${f.path}: uploadMode`)
    t.type(a?.shouldIgnore, 'boolean', `${f.path}: shouldIgnore`)
  }
  t.equal(byPath.get('config.json')?.uploadMode, 'regular')
  t.equal(byPath.get('model.safetensors')?.uploadMode, 'lfs')
  t.equal(byPath.get('big.txt')?.uploadMode, 'lfs', 'above the threshold')
  t.equal(byPath.get('binary.dat')?.uploadMode, 'lfs', 'binary sample')
  t.equal(byPath.get('empty.bin')?.uploadMode, 'regular', 'empty files are regular')
  t.equal(byPath.get('ignored/x.txt')?.shouldIgnore, true)
  t.equal(byPath.get('debug.log')?.shouldIgnore, true)
  t.equal(byPath.get('config.json')?.shouldIgnore, false)
  t.match(byPath.get('existing.txt')?.oid, /^[0-9a-f]{40}$/, 'existing regular file: its git blob id')

  // A request-supplied gitIgnore wins over the repo's.
  const res2 = await call(s, 'POST', `/api/models/${repo}/preupload/main`, s.token, { files, gitIgnore: '*.json\n' })
  const a2 = (await res2.json()) as { files: { path: string; shouldIgnore: boolean }[] }
  t.equal(a2.files.find((f) => f.path === 'config.json')?.shouldIgnore, true)
  t.equal(a2.files.find((f) => f.path === 'debug.log')?.shouldIgnore, false)

  // Malformed preupload bodies are 400 in the Hub format.
  for (const [what, body] of [
    ['no files', {}],
    ['files not a list', { files: 'a.txt' }],
    ['negative size', { files: [{ path: 'a', size: -1 }] }],
  ] as [string, unknown][]) {
    await expectHubError(t, await call(s, 'POST', `/api/models/${repo}/preupload/main`, s.token, body), { status: 400 }, what)
  }
})
