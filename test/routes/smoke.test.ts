import t from 'tap'
import { authed, createRepo, commitLines, startServer } from '../helpers/server.js'

t.test('create, commit, resolve', async (t) => {
  const s = await startServer(t)
  const id = await createRepo(s, 'smoke')
  t.equal(id, 'admin/smoke')
  const res = await commitLines(s, `models/${id}`, 'main', [
    { key: 'header', value: { summary: 'add' } },
    { key: 'file', value: { path: 'x.txt', content: Buffer.from('hi').toString('base64'), encoding: 'base64' } },
  ])
  t.equal(res.status, 200)
  const got = await authed(s, `/${id}/resolve/main/x.txt`)
  t.equal(await got.text(), 'hi')
})

t.test('an unknown endpoint on an existing repo is not reported as a missing repo', async (t) => {
  const s = await startServer(t)
  const id = await createRepo(s, 'known')
  const res = await authed(s, `/api/models/${id}/no-such-endpoint`)
  t.equal(res.status, 404)
  t.equal(res.headers.get('x-error-code'), null)
  const missing = await authed(s, `/api/models/admin/unknown/no-such-endpoint`)
  t.equal(missing.headers.get('x-error-code'), 'RepoNotFound')
})
