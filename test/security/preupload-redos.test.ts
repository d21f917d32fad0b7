/**
 * Issue 13: a `.gitattributes` / `.gitignore` pattern like `*a*a*a*a*a*a*a*a*a*ab` against a path of
 * 36 `a`s blocked the event loop for seconds (each more byte ×1.8) through preupload and commit.
 * Each request here must answer correctly in well under a second.
 */
import t from 'tap'
import { authed, commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import { fileLine, headerLine, uploadLfs } from '../helpers/error-helpers.js'

const EVIL = '*a*a*a*a*a*a*a*a*a*ab'
const NO_MATCH = 'a'.repeat(36)
const MATCH = `${'a'.repeat(35)}b`

interface PreuploadAnswer {
  files: { path: string; uploadMode: string; shouldIgnore: boolean }[]
}

async function timedPreupload(s: TestServer, repo: string, extra: Record<string, string>): Promise<{ ms: number; answer: PreuploadAnswer }> {
  // A harmless call first, so the timing is of the matching, not of a cold route.
  await (await authed(s, `/api/models/${repo}/preupload/main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"files":[]}' })).arrayBuffer()
  const start = performance.now()
  const res = await authed(s, `/api/models/${repo}/preupload/main`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      files: [NO_MATCH, MATCH].map((path) => ({ path, size: 10, sample: Buffer.from('plain text').toString('base64') })),
      ...extra,
    }),
  })
  const answer = (await res.json()) as PreuploadAnswer
  if (res.status !== 200) throw new Error(`preupload: ${res.status} ${JSON.stringify(answer)}`)
  return { ms: performance.now() - start, answer }
}

const modes = (a: PreuploadAnswer) => a.files.map((f) => [f.path, f.uploadMode, f.shouldIgnore])

t.test('preupload with a hostile gitAttributes answers at once, and right', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'evil-attrs')
  const { ms, answer } = await timedPreupload(s, repo, { gitAttributes: `${EVIL} filter=lfs -text\n` })
  t.ok(ms < 1000, `answered in ${ms.toFixed(0)} ms`)
  t.same(modes(answer), [
    [NO_MATCH, 'regular', false],
    [MATCH, 'lfs', false],
  ])
})

t.test('preupload with a hostile gitIgnore answers at once, and right', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'evil-ignore')
  const { ms, answer } = await timedPreupload(s, repo, { gitIgnore: `${EVIL}\n` })
  t.ok(ms < 1000, `answered in ${ms.toFixed(0)} ms`)
  t.same(modes(answer), [
    [NO_MATCH, 'regular', false],
    [MATCH, 'regular', true],
  ])
})

t.test('a committed hostile .gitattributes: preupload and an LFS commit answer at once', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'evil-committed')
  const seed = await commitLines(s, `models/${repo}`, 'main', [headerLine('evil rules'), fileLine('.gitattributes', `${EVIL} filter=lfs -text\n`)])
  t.equal(seed.status, 200)

  const pre = await timedPreupload(s, repo, {})
  t.ok(pre.ms < 1000, `preupload answered in ${pre.ms.toFixed(0)} ms`)
  t.same(modes(pre.answer), [
    [NO_MATCH, 'regular', false],
    [MATCH, 'lfs', false],
  ])

  // The commit checks every LFS path against the .gitattributes to add a rule for uncovered ones.
  const data = Buffer.from('weights')
  const oid = await uploadLfs(s, repo, data)
  const start = performance.now()
  const res = await commitLines(s, `models/${repo}`, 'main', [
    headerLine('lfs file'),
    { key: 'lfsFile', value: { path: NO_MATCH, algo: 'sha256', oid, size: data.length } },
  ])
  const ms = performance.now() - start
  t.equal(res.status, 200, await res.text())
  t.ok(ms < 1000, `commit answered in ${ms.toFixed(0)} ms`)
  const attrs = await (await authed(s, `/${repo}/resolve/main/.gitattributes`)).text()
  t.equal(attrs, `${EVIL} filter=lfs -text\n${NO_MATCH} filter=lfs diff=lfs merge=lfs -text\n`, 'the uncovered LFS path got its rule')
})
