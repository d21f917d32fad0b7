import t from 'tap'
import {
  commit,
  countCommits,
  createBranch,
  createRepo,
  deleteBranch,
  downloadFile,
  listCommits,
  listFiles,
  listModels,
  listDatasets,
  modelInfo,
  uploadFiles,
  HubApiError,
  type RepoDesignation,
} from '@huggingface/hub'
import { authed, startServer, type TestServer } from '../helpers/server.js'

const text = async (b: Blob | null) => (b ? await b.text() : null)

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T
}

async function createTag(s: TestServer, repo: string, rev: string, tag: string, message?: string) {
  return authed(s, `/api/models/${repo}/tag/${encodeURIComponent(rev)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tag, ...(message ? { message } : {}) }),
  })
}

t.test('@huggingface/hub: branches, tags, every kind of revision, history', async (t) => {
  const s = await startServer(t)
  const common = { hubUrl: s.url, accessToken: s.token }
  const repo: RepoDesignation = { type: 'model', name: 'admin/versions' }
  await createRepo({ ...common, repo })
  const c1 = await uploadFiles({ ...common, repo, useXet: false, files: [{ path: 'v.txt', content: new Blob(['one']) }] })
  const c2 = await uploadFiles({ ...common, repo, useXet: false, files: [{ path: 'v.txt', content: new Blob(['two']) }] })

  await createBranch({ ...common, repo, branch: 'feature/x', revision: c1!.commit.oid })
  await uploadFiles({ ...common, repo, useXet: false, branch: 'feature/x', files: [{ path: 'f.txt', content: new Blob(['feature']) }] })
  t.equal(await text(await downloadFile({ ...common, repo, path: 'v.txt', revision: 'feature/x' })), 'one', 'branch with a slash')
  t.equal(await text(await downloadFile({ ...common, repo, path: 'f.txt', revision: 'feature/x' })), 'feature')
  const onBranch: string[] = []
  for await (const f of listFiles({ ...common, repo, revision: 'feature/x' })) onBranch.push(f.path)
  t.ok(onBranch.includes('f.txt'), 'listFiles sends the branch raw and still finds it')
  t.equal(await downloadFile({ ...common, repo, path: 'f.txt' }), null, 'main does not have the branch file')

  t.equal((await createTag(s, 'admin/versions', c1!.commit.oid, 'v1.0', 'first release')).status, 200)
  t.equal((await createTag(s, 'admin/versions', 'main', 'light')).status, 200)
  t.equal((await createTag(s, 'admin/versions', 'main', 'v1.0')).status, 409, 'tags are immutable')
  for (const rev of ['v1.0', c1!.commit.oid, c1!.commit.oid.slice(0, 7), 'refs/tags/v1.0']) {
    t.equal(await text(await downloadFile({ ...common, repo, path: 'v.txt', revision: rev })), 'one', `revision ${rev}`)
  }
  t.equal(await text(await downloadFile({ ...common, repo, path: 'v.txt', revision: 'light' })), 'two')
  const info = await modelInfo({ ...common, name: 'admin/versions', revision: 'v1.0', additionalFields: ['sha'] })
  t.equal(info.sha, c1!.commit.oid, 'info at a tag resolves to its commit')
  const missing = await authed(s, '/api/models/admin/versions/revision/nope')
  t.equal(missing.status, 404)
  t.equal(missing.headers.get('x-error-code'), 'RevisionNotFound')

  const refs = await json<{ branches: { name: string; targetCommit: string }[]; tags: { name: string; targetCommit: string }[]; converts: unknown[] }>(
    await authed(s, '/api/models/admin/versions/refs'),
  )
  t.same(refs.branches.map((b) => b.name), ['main', 'feature/x'], 'main first')
  t.same(refs.tags.map((x) => [x.name, x.targetCommit]), [['light', c2!.commit.oid], ['v1.0', c1!.commit.oid]], 'annotated tags peel to their commit')
  t.same(refs.converts, [])

  const history = []
  for await (const c of listCommits({ ...common, repo, batchSize: 2 })) history.push(c)
  t.same(history.map((c) => c.oid), [c2!.commit.oid, c1!.commit.oid, history[2]!.oid], 'newest first, paginated by 2')
  t.equal(history[2]!.title, 'initial commit')
  t.equal(history[0]!.authors[0]!.username, 'admin')
  t.equal(await countCommits({ ...common, repo }), 3)
  t.equal(await countCommits({ ...common, repo, revision: 'feature/x' }), 3)

  await deleteBranch({ ...common, repo, branch: 'feature/x' })
  t.equal(await downloadFile({ ...common, repo, path: 'f.txt', revision: 'feature/x' }).catch((e: HubApiError) => e.statusCode), 404)
  const delMain = await authed(s, '/api/models/admin/versions/branch/main', { method: 'DELETE' })
  t.equal(delMain.status, 403, 'the default branch cannot be deleted')

  for (const bad of ['a..b', 'a~1', 'a^', 'a:b', 'x.lock', 'refs/pr/5', 'a b', 'x'.repeat(256)]) {
    const res = await authed(s, `/api/models/admin/versions/branch/${encodeURIComponent(bad)}`, { method: 'POST' })
    t.equal(res.status, 400, `branch "${bad.slice(0, 20)}" is refused`)
    t.match(res.headers.get('x-error-message'), /Invalid reference for a branch/)
  }
  t.equal((await createTag(s, 'admin/versions', 'main', 'invalid tag')).status, 400)
  t.equal((await createTag(s, 'admin/versions', 'nope', 'x1')).status, 404, 'tagging an unknown revision')
  // A branch may share a tag's name; the branch wins when resolving (docs/hub-api.md §1.5).
  await createBranch({ ...common, repo, branch: 'v1.0' })
  t.equal(await text(await downloadFile({ ...common, repo, path: 'v.txt', revision: 'v1.0' })), 'two', 'branch wins over tag')
  t.equal(await text(await downloadFile({ ...common, repo, path: 'v.txt', revision: 'refs/tags/v1.0' })), 'one')
  const again = await createBranch({ ...common, repo, branch: 'v1.0' }).catch((e: HubApiError) => e.statusCode)
  t.equal(again, 409, 'an existing branch is a 409')
  for (const q of ['tree/main?cursor=%21%21', 'tree/main?cursor=djI6YQ', 'commits/main?p=x', 'commits/main?limit=-1']) {
    const res = await authed(s, `/api/models/admin/versions/${q}`)
    t.equal(res.status, 400, `${q} is a 400`)
  }
  const squash = await authed(s, '/api/models/admin/versions/super-squash/main', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'squashed' }),
  })
  t.equal(squash.status, 200)
  t.equal(await countCommits({ ...common, repo }), 1, 'super-squash leaves one commit')
  t.equal(await text(await downloadFile({ ...common, repo, path: 'v.txt' })), 'two', 'with the same content')
})

t.test('@huggingface/hub: pull requests: create, list, read, merge', async (t) => {
  const s = await startServer(t)
  const common = { hubUrl: s.url, accessToken: s.token }
  const repo: RepoDesignation = { type: 'model', name: 'admin/prs' }
  await createRepo({ ...common, repo })
  const pr = await commit({
    ...common,
    repo,
    title: 'Add weights',
    isPullRequest: true,
    useXet: false,
    operations: [{ operation: 'addOrUpdate', path: 'pr.txt', content: new Blob(['from the PR']) }],
  })
  t.equal(pr?.pullRequestUrl, `${s.url}/admin/prs/discussions/1`)
  t.equal(await downloadFile({ ...common, repo, path: 'pr.txt' }), null, 'main is untouched')
  t.equal(await text(await downloadFile({ ...common, repo, path: 'pr.txt', revision: 'refs/pr/1' })), 'from the PR')
  // Meanwhile main moves on: the merge has to make a merge commit.
  await uploadFiles({ ...common, repo, useXet: false, files: [{ path: 'main.txt', content: new Blob(['main']) }] })

  const list = await json<{ discussions: { num: number; isPullRequest: boolean; status: string }[]; count: number }>(
    await authed(s, '/api/models/admin/prs/discussions'),
  )
  t.same(list.discussions.map((d) => [d.num, d.isPullRequest, d.status]), [[1, true, 'open']])
  const details = await json<{ changes: { base: string }; events: { type: string }[] }>(await authed(s, '/api/models/admin/prs/discussions/1?diff=1'))
  t.equal(details.changes.base, 'refs/heads/main')
  const prs = await json<{ pullRequests: { name: string }[] }>(await authed(s, '/api/models/admin/prs/refs?include_prs=1'))
  t.same(prs.pullRequests.map((p) => p.name), ['1'])

  const merge = await authed(s, '/api/models/admin/prs/discussions/1/merge', { method: 'POST' })
  t.equal(merge.status, 200)
  t.equal(await text(await downloadFile({ ...common, repo, path: 'pr.txt' })), 'from the PR', 'merged into main')
  t.equal(await text(await downloadFile({ ...common, repo, path: 'main.txt' })), 'main', 'keeping main’s own change')
  const after = await json<{ status: string }>(await authed(s, '/api/models/admin/prs/discussions/1'))
  t.equal(after.status, 'merged')

  // A conflicting PR: both sides change the same file.
  const pr2 = await commit({
    ...common,
    repo,
    title: 'Change main.txt',
    isPullRequest: true,
    useXet: false,
    operations: [{ operation: 'addOrUpdate', path: 'main.txt', content: new Blob(['pr side']) }],
  })
  t.equal(pr2?.pullRequestUrl, `${s.url}/admin/prs/discussions/2`)
  await uploadFiles({ ...common, repo, useXet: false, files: [{ path: 'main.txt', content: new Blob(['main side']) }] })
  const conflict = await authed(s, '/api/models/admin/prs/discussions/2/merge', { method: 'POST' })
  t.equal(conflict.status, 409)
  t.match(conflict.headers.get('x-error-message'), /conflicts in: main.txt/)
  const close = await authed(s, '/api/models/admin/prs/discussions/2/status', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'closed' }),
  })
  t.equal(((await close.json()) as { newStatus: { data: { status: string } } }).newStatus.data.status, 'closed')
})

t.test('@huggingface/hub: model card fields, listings, downloads, move and settings', async (t) => {
  const s = await startServer(t)
  const common = { hubUrl: s.url, accessToken: s.token }
  const card = '---\nlicense: apache-2.0\nlibrary_name: transformers\npipeline_tag: text-classification\ntags:\n- demo\n- tiny\n---\n# Card\n'
  for (const name of ['alpha', 'beta', 'gamma']) {
    const repo: RepoDesignation = { type: 'model', name: `admin/${name}` }
    await createRepo({ ...common, repo })
    const files = [{ path: 'config.json', content: new Blob(['{}']) }]
    if (name !== 'gamma') files.push({ path: 'README.md', content: new Blob([card]) })
    await uploadFiles({ ...common, repo, useXet: false, files })
  }
  await createRepo({ ...common, repo: { type: 'dataset', name: 'admin/data-one' } })

  const info = await modelInfo({ ...common, name: 'admin/alpha', additionalFields: ['cardData', 'tags', 'library_name'] })
  t.same(info.cardData, { license: 'apache-2.0', library_name: 'transformers', pipeline_tag: 'text-classification', tags: ['demo', 'tiny'] })
  t.equal(info.library_name, 'transformers')
  t.equal(info.task, 'text-classification')
  t.ok(info.tags.includes('demo') && info.tags.includes('license:apache-2.0') && info.tags.includes('transformers'))

  // downloads: HEAD or GET of the query file (config.json) counts, other files do not.
  await fetch(`${s.url}/admin/beta/resolve/main/config.json`, { method: 'HEAD' })
  await fetch(`${s.url}/admin/beta/resolve/main/config.json`)
  await fetch(`${s.url}/admin/beta/resolve/main/README.md`)
  s.ctx.downloads.flush()
  t.equal((await modelInfo({ ...common, name: 'admin/beta' })).downloads, 2)

  const names = async (params: string) =>
    (await json<{ id: string }[]>(await authed(s, `/api/models${params}`))).map((r) => r.id)
  t.same(await names('?sort=id&direction=1'), ['admin/alpha', 'admin/beta', 'admin/gamma'])
  t.same(await names('?sort=id'), ['admin/gamma', 'admin/beta', 'admin/alpha'], 'descending by default')
  t.same(await names('?search=ALP'), ['admin/alpha'], 'search is a case-insensitive substring')
  t.same(await names('?filter=demo&filter=license:apache-2.0&sort=id&direction=1'), ['admin/alpha', 'admin/beta'])
  t.same(await names('?sort=downloads&limit=1'), ['admin/beta'])
  t.same(await names('?author=nobody'), [])
  t.same((await json<{ id: string }[]>(await authed(s, '/api/datasets'))).map((r) => r.id), ['admin/data-one'])
  const page1 = await authed(s, '/api/models?sort=createdAt&limit=2&full=true')
  const link = /^<([^>]+)>; rel="next"$/.exec(page1.headers.get('link') ?? '')
  t.ok(link, 'a Link to the next page')
  const page2 = await json<{ id: string }[]>(await fetch(link![1]!, { headers: { authorization: `Bearer ${s.token}` } }))
  t.equal(page2.length, 1)
  t.equal((await authed(s, '/api/models?cursor=garbage!')).status, 400, 'a tampered cursor is a 400')
  t.equal((await authed(s, `/api/models?cursor=${Buffer.from('["id",1,"x"]').toString('base64url')}`)).status, 400)

  const listed: string[] = []
  for await (const m of listModels({ ...common, search: { owner: 'admin', tags: ['tiny'] } })) listed.push(m.name)
  t.same(listed.sort(), ['admin/alpha', 'admin/beta'])
  const ds: string[] = []
  for await (const d of listDatasets({ ...common, search: { owner: 'admin' } })) ds.push(d.name)
  t.same(ds, ['admin/data-one'])

  // private: hidden from anonymous listings and info, visible to the owner
  const toggle = await authed(s, '/api/models/admin/gamma/settings', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ private: true }),
  })
  t.equal(toggle.status, 200)
  t.notOk((await json<{ id: string }[]>(await fetch(`${s.url}/api/models`))).some((r) => r.id === 'admin/gamma'))
  t.ok((await names('')).includes('admin/gamma'))
  t.equal((await fetch(`${s.url}/api/models/admin/gamma`)).status, 404)
  t.equal((await json<{ private: boolean }>(await authed(s, '/api/models/admin/gamma'))).private, true)

  // move: the old id answers with redirects the clients follow
  const move = await authed(s, '/api/repos/move', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fromRepo: 'admin/alpha', toRepo: 'admin/alpha-v2', type: 'model' }),
  })
  t.equal(move.status, 200)
  const old = await fetch(`${s.url}/admin/alpha/resolve/main/config.json`, { redirect: 'manual' })
  t.equal(old.status, 307)
  t.equal(old.headers.get('location'), '/admin/alpha-v2/resolve/main/config.json', 'a relative Location (docs/hub-api.md §7.5)')
  t.equal(await text(await downloadFile({ ...common, repo: 'admin/alpha', path: 'config.json' })), '{}', 'followed by the client')
  t.equal((await modelInfo({ ...common, name: 'admin/alpha' })).name, 'admin/alpha-v2')
  const taken = await authed(s, '/api/repos/move', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fromRepo: 'admin/beta', toRepo: 'admin/alpha-v2', type: 'model' }),
  })
  t.equal(taken.status, 409)
})

t.test('discussions listing filters by type, status and author', async (t) => {
  const s = await startServer(t)
  await createRepo({ hubUrl: s.url, accessToken: s.token, repo: { type: 'model', name: 'admin/disc' } })
  const open = (body: Record<string, unknown>) =>
    authed(s, '/api/models/admin/disc/discussions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.equal(((await (await open({ title: 'a PR', pullRequest: true })).json()) as { num: number }).num, 1)
  t.equal(((await (await open({ title: 'a question' })).json()) as { num: number }).num, 2)
  await authed(s, '/api/models/admin/disc/discussions/1/status', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'closed' }),
  })
  const nums = async (q: string) => {
    const body = await json<{ discussions: { num: number }[]; count: number }>(await authed(s, `/api/models/admin/disc/discussions${q}`))
    t.equal(body.count, body.discussions.length, `count matches for "${q}"`)
    return body.discussions.map((d) => d.num)
  }
  t.same(await nums(''), [2, 1])
  t.same(await nums('?type=pull_request'), [1])
  t.same(await nums('?type=discussion'), [2])
  t.same(await nums('?status=open'), [2])
  t.same(await nums('?status=closed'), [1])
  t.same(await nums('?author=admin'), [2, 1])
  t.same(await nums('?author=someone'), [])
  const details = await json<{ events: { type: string }[] }>(await authed(s, '/api/models/admin/disc/discussions/1'))
  t.notOk(details.events.some((e) => e.type === 'commit'), 'an empty PR has no commit event')
})
