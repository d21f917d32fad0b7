/**
 * Issue 13: a `.gitattributes` / `.gitignore` pattern like `*a*a*a*a*a*a*a*a*a*ab` against a path of
 * 36 `a`s blocked the event loop for seconds (each more byte ×1.8) through preupload and commit.
 * Each request here must answer correctly in well under a second.
 */
import t from 'tap'
import { authed, commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import { expectHubError, fileLine, headerLine, uploadLfs } from '../helpers/error-helpers.js'

const EVIL = '*a*a*a*a*a*a*a*a*a*ab'
// 40 bytes: the backtracking RegExp this replaced needed ~35 s here (×1.8 per byte; 3.5 s at 36),
// so the bound below tells bounded from exponential even on a loaded CI machine.
const NO_MATCH = 'a'.repeat(40)
const MATCH = `${'a'.repeat(39)}b`
/** Far above the fix's ~50 ms and far below what the old matcher took. */
const QUICK_MS = 3000

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
  t.ok(ms < QUICK_MS, `answered in ${ms.toFixed(0)} ms`)
  t.same(modes(answer), [
    [NO_MATCH, 'regular', false],
    [MATCH, 'lfs', false],
  ])
})

t.test('preupload with a hostile gitIgnore answers at once, and right', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'evil-ignore')
  const { ms, answer } = await timedPreupload(s, repo, { gitIgnore: `${EVIL}\n` })
  t.ok(ms < QUICK_MS, `answered in ${ms.toFixed(0)} ms`)
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
  t.ok(pre.ms < QUICK_MS, `preupload answered in ${pre.ms.toFixed(0)} ms`)
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
  t.ok(ms < QUICK_MS, `commit answered in ${ms.toFixed(0)} ms`)
  const attrs = await (await authed(s, `/${repo}/resolve/main/.gitattributes`)).text()
  t.equal(attrs, `${EVIL} filter=lfs -text\n${NO_MATCH} filter=lfs diff=lfs merge=lfs -text\n`, 'the uncovered LFS path got its rule')
})

/** A preupload of `paths` (1000 at most, the route's limit) with `extra` rules; the answer and its wall-clock time. */
async function preuploadPaths(s: TestServer, repo: string, paths: string[], extra: Record<string, string>): Promise<{ ms: number; res: Response }> {
  const start = performance.now()
  const res = await authed(s, `/api/models/${repo}/preupload/main`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ files: paths.map((path) => ({ path, size: 10 })), ...extra }),
    signal: AbortSignal.timeout(60_000),
  })
  return { ms: performance.now() - start, res }
}

/** A refusal takes ~0.2–0.5 s on an idle machine (hours without the budget); slack for a loaded one. */
const PROMPT_MS = 8000

const TOO_EXPENSIVE = /^The \.gitattributes\/\.gitignore patterns are too expensive to evaluate for this request \(over \d+ matching steps/

t.test('many long hostile patterns × many long paths: a prompt 422, and the server stays responsive', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'evil-budget')
  // Within every per-file limit: 1000 patterns of 2001 bytes, 1000 paths of 1000 bytes. Each
  // match is bounded (~10 ms), but all of them would hold the event loop for hours.
  const gitAttributes = Array(1000).fill(`${'*a'.repeat(1000)}b filter=lfs`).join('\n')
  const paths = Array.from({ length: 1000 }, (_, i) => `${'a'.repeat(996)}${String(i).padStart(4, '0')}`)
  await (await authed(s, '/api/whoami-v2')).arrayBuffer()

  const hostile = preuploadPaths(s, repo, paths, { gitAttributes })
  // Another client's request, sent while the hostile one is being matched.
  await new Promise((r) => setTimeout(r, 50))
  const start = performance.now()
  const other = await authed(s, '/api/whoami-v2', { signal: AbortSignal.timeout(30_000) })
  const otherMs = performance.now() - start
  t.equal(other.status, 200)
  t.ok(otherMs < 2000, `a concurrent whoami answered in ${otherMs.toFixed(0)} ms`)

  const { ms, res } = await hostile
  t.ok(ms < PROMPT_MS, `the hostile preupload answered in ${ms.toFixed(0)} ms`)
  const body = await expectHubError(t, res, { status: 422, code: null, message: TOO_EXPENSIVE })
  t.match(body.error, TOO_EXPENSIVE, 'the JSON body says the same')
})

t.test('a .gitignore of literals against deep paths: a prompt 422', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'evil-deep')
  // 500 folders per path: every rule meets every folder of every path.
  const gitIgnore = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? `x${i}/` : `[x]${i}`)).join('\n')
  const paths = Array.from({ length: 1000 }, (_, i) => `${'a/'.repeat(497)}${String(i).padStart(4, '0')}`)
  const { ms, res } = await preuploadPaths(s, repo, paths, { gitIgnore })
  t.ok(ms < PROMPT_MS, `answered in ${ms.toFixed(0)} ms`)
  await expectHubError(t, res, { status: 422, code: null, message: TOO_EXPENSIVE })
})

t.test('a big real-world .gitattributes and a full preupload: no false refusal', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'big-attrs')
  const escape = (p: string) => p.replace(/([\\[\]*?!#"])/g, '\\$1').replace(/ /g, '[[:space:]]')
  // The default rules, then 5000 lines as the Hub appends them for uncovered LFS files.
  const literal = Array.from({ length: 5000 }, (_, i) => (i % 10 === 0 ? `scans/batch ${i}/image.tiff` : `data/shard-${i >> 6}/part-${i}.tiff`))
  const attrs = (await (await authed(s, `/${repo}/resolve/main/.gitattributes`)).text()) + literal.map((p) => `${escape(p)} filter=lfs diff=lfs merge=lfs -text\n`).join('')
  const seed = await commitLines(s, `models/${repo}`, 'main', [headerLine('big rules'), fileLine('.gitattributes', attrs)])
  t.equal(seed.status, 200)
  const paths = Array.from({ length: 1000 }, (_, i) => (i % 2 ? literal[i * 5]! : i % 4 === 0 ? `model-${i}.safetensors` : `src/pkg/module_${i}.py`))
  const { res } = await preuploadPaths(s, repo, paths, { gitIgnore: '__pycache__/\n*.pyc\n/build\nsrc/pkg/module_2.py\n' })
  t.equal(res.status, 200)
  const answer = (await res.json()) as PreuploadAnswer
  t.same(
    answer.files.map((f) => f.uploadMode === 'lfs'),
    paths.map((p) => !p.endsWith('.py')),
    'literal paths and *.safetensors are LFS, the rest regular',
  )
  t.same(answer.files.filter((f) => f.shouldIgnore).map((f) => f.path), ['src/pkg/module_2.py'])
})

t.test('a preupload path longer than a commit accepts is a 422', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'long-path')
  const { res } = await preuploadPaths(s, repo, ['ok.txt', 'a'.repeat(1001)], {})
  await expectHubError(t, res, { status: 422, code: null, message: /^invalid path "a+": path is longer than 1000 bytes$/ })
  t.equal((await preuploadPaths(s, repo, ['a'.repeat(1000)], {})).res.status, 200, '1000 bytes is fine')
})
