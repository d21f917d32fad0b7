/**
 * `.gitattributes` / `.gitignore` over HUBD_MAX_PATTERNS / HUBD_MAX_PATTERN_BYTES (issue 13): preupload
 * and commit answer a clear 422 in the Hub's format instead of matching part of the rules.
 */
import t from 'tap'
import { authed, commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import { assertUnchanged, expectHubError, fileLine, headerLine, snapshot, uploadLfs } from '../helpers/error-helpers.js'

function preupload(s: TestServer, repo: string, extra: Record<string, string>): Promise<Response> {
  return authed(s, `/api/models/${repo}/preupload/main`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ files: [{ path: 'a.bin', size: 1 }], ...extra }),
  })
}

const lines = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => `${make(i)}\n`).join('')

t.test('preupload: too many patterns or too long a pattern is a 422', async (t) => {
  const s = await startServer(t, { HUBD_MAX_PATTERNS: '5', HUBD_MAX_PATTERN_BYTES: '64' })
  const repo = await createRepo(s, 'limits')

  const many = await preupload(s, repo, { gitAttributes: `# comments and blank lines do not count\n\n${lines(6, (i) => `*.x${i} filter=lfs`)}` })
  await expectHubError(t, many, { status: 422, code: null, message: '.gitattributes has more than 5 patterns (the most this server accepts)' })

  // (An empty gitAttributes: the repo's own, the default one, has more than 5 patterns.)
  const long = await preupload(s, repo, { gitAttributes: '', gitIgnore: `ok\n${'a'.repeat(65)}\n` })
  await expectHubError(t, long, { status: 422, code: null, message: '.gitignore line 2: the pattern is longer than 64 bytes (the most this server accepts)' })

  const longAttr = await preupload(s, repo, { gitAttributes: `${'é'.repeat(33)} filter=lfs\n` })
  await expectHubError(t, longAttr, { status: 422, code: null, message: /^\.gitattributes line 1: the pattern is longer than 64 bytes/ }, 'bytes, not characters')

  // The limits are inclusive.
  t.equal((await preupload(s, repo, { gitAttributes: lines(5, (i) => `*.x${i} filter=lfs`), gitIgnore: `${'a'.repeat(64)}\n` })).status, 200)
})

t.test('preupload: the default limits are 10000 patterns of 4096 bytes', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'defaults')
  t.equal((await preupload(s, repo, { gitIgnore: lines(10_000, (i) => `f${i}`) })).status, 200)
  await expectHubError(t, await preupload(s, repo, { gitIgnore: lines(10_001, (i) => `f${i}`) }), { status: 422, code: null, message: /more than 10000 patterns/ })
  t.equal((await preupload(s, repo, { gitIgnore: `${'a'.repeat(4096)}\n` })).status, 200)
  await expectHubError(t, await preupload(s, repo, { gitIgnore: `${'a'.repeat(4097)}\n` }), { status: 422, code: null, message: /longer than 4096 bytes/ })
})

t.test('commit: an LFS file under an over-limit .gitattributes is a 422 and nothing moves', async (t) => {
  const s = await startServer(t, { HUBD_MAX_PATTERNS: '5' })
  const repo = await createRepo(s, 'commit-limits')
  const data = Buffer.from('weights')
  const oid = await uploadLfs(s, repo, data)
  const before = await snapshot(s, repo)
  const lfsLine = { key: 'lfsFile', value: { path: 'model.weights', algo: 'sha256', oid, size: data.length } }

  // The .gitattributes the commit writes...
  const written = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('.gitattributes', lines(6, (i) => `*.x${i} filter=lfs`)), lfsLine])
  await expectHubError(t, written, { status: 422, code: null, message: '.gitattributes has more than 5 patterns (the most this server accepts)' })
  await assertUnchanged(t, s, repo, before)

  // ...or the one already there (a repo may hold any file: only using it is refused).
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('.gitattributes', lines(6, (i) => `*.x${i} filter=lfs`))])).status, 200)
  const after = await snapshot(s, repo)
  const res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), lfsLine])
  await expectHubError(t, res, { status: 422, code: null, message: '.gitattributes has more than 5 patterns (the most this server accepts)' })
  await assertUnchanged(t, s, repo, after)
})
