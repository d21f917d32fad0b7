/**
 * Without a git binary the server still starts and serves the HTTP API and LFS; only the git
 * endpoints answer 503, with a message git shows to the user.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { gitClient, scratchDir, uploadLfs } from '../helpers/git.js'
import { authed, commitLines, createRepo, startServer } from '../helpers/server.js'

t.test('no git binary: git endpoints answer 503, everything else works', async (t) => {
  const server = await startServer(t, { HUBD_GIT: '/nonexistent/bin/git' })
  await createRepo(server, 'no-git')
  const oid = await uploadLfs(server, 'admin/no-git', Buffer.from('x'.repeat(2000)))
  const res = await commitLines(server, 'models/admin/no-git', 'main', [
    { key: 'header', value: { summary: 'works', description: '' } },
    { key: 'file', value: { path: 'a.txt', content: 'still works\n', encoding: 'utf-8' } },
    { key: 'lfsFile', value: { path: 'big.bin', algo: 'sha256', oid, size: 2000 } },
  ])
  t.equal(res.status, 200, 'API commits work')
  t.equal(await (await authed(server, '/admin/no-git/resolve/main/a.txt')).text(), 'still works\n', 'resolve works')
  t.equal((await (await authed(server, '/admin/no-git/resolve/main/big.bin')).arrayBuffer()).byteLength, 2000, 'LFS works')

  for (const [method, url] of [
    ['GET', '/admin/no-git/info/refs?service=git-upload-pack'],
    ['GET', '/admin/no-git.git/info/refs?service=git-receive-pack'],
    ['POST', '/admin/no-git/git-upload-pack'],
    ['POST', '/datasets/admin/other/git-receive-pack'],
  ] as const) {
    const answer = await authed(server, url, {
      method,
      ...(method === 'POST' ? { headers: { 'content-type': `application/x-${url.split('/').pop()}-request` }, body: '0000' } : {}),
    })
    t.equal(answer.status, 503, `${method} ${url}`)
    t.match(answer.headers.get('content-type'), 'text/plain', 'git prints text/plain error bodies')
    t.match(await answer.text(), 'git over HTTP needs the git binary')
  }
  t.equal(await server.ctx.maintenance.runNow('anything'), false, 'maintenance is skipped')

  const { git } = await gitClient(t)
  const dir = scratchDir(t)
  const clone = await git(['clone', `${server.url}/admin/no-git`, 'c'], { cwd: dir, allowFail: true })
  t.not(clone.code, 0)
  t.match(clone.stderr, 'git over HTTP needs the git binary', 'the user sees why')
  t.notOk(fs.existsSync(path.join(dir, 'c/a.txt')))
})
