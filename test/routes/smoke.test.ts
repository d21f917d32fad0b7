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
