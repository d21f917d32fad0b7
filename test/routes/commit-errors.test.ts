/**
 * Bad commit bodies (docs/hub-api.md §6.2, §6.3, §6.7, §5.10): each gets a clear Hub-format error and leaves the
 * branch, the blob store and the temp folders untouched.
 */
import t from 'tap'
import { commitLines, createRepo, startServer } from '../helpers/server.js'
import {
  assertUnchanged,
  b64,
  branchHead,
  createRepoAs,
  expectHubError,
  fileLine,
  headerLine,
  makeUser,
  sha256,
  snapshot,
  uploadLfs,
} from '../helpers/error-helpers.js'

t.test('odd and dangerous paths are refused with 422 and nothing moves', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'paths')
  // Some real content first, so "unchanged" means something.
  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine('seed'), fileLine('keep.txt', 'keep')])).status, 200)

  const bad: [string, string][] = [
    ['parent traversal', '../x'],
    ['nested traversal', 'a/../../x'],
    ['absolute path', '/abs'],
    ['empty segment', 'a//b'],
    ['.git folder', '.git/config'],
    ['nested .git folder', 'sub/.git/hooks/pre-commit'],
    ['NUL byte', 'a\u0000b.txt'],
    ['dot segment', './x'],
    ['longer than 1000 bytes', 'a'.repeat(1001)],
    ['longer than 1000 bytes in UTF-8 (501 characters)', 'é'.repeat(501)],
  ]
  for (const [what, p] of bad) {
    const before = await snapshot(s, repo)
    const res = await commitLines(s, `models/${repo}`, 'main', [headerLine(what), fileLine(p, 'evil')])
    await expectHubError(t, res, { status: 422, code: null }, what)
    await assertUnchanged(t, s, repo, before)
  }

  // The same checks for lfsFile and deletedFile lines, and a bad path after a good line.
  const before = await snapshot(s, repo)
  const oid = sha256('x')
  for (const [what, lines] of [
    ['lfsFile with ../', [headerLine(), { key: 'lfsFile', value: { path: '../model.bin', algo: 'sha256', oid, size: 1 } }]],
    ['deletedFile with .git', [headerLine(), { key: 'deletedFile', value: { path: '.git/HEAD' } }]],
    ['deletedFolder with ..', [headerLine(), { key: 'deletedFolder', value: { path: '../' } }]],
    ['good line then a bad path', [headerLine(), fileLine('fine.txt', 'fine'), fileLine('../escape.txt', 'evil')]],
  ] as const) {
    const res = await commitLines(s, `models/${repo}`, 'main', [...lines])
    await expectHubError(t, res, { status: 422, code: null }, what)
  }
  await assertUnchanged(t, s, repo, before)

  // A path exactly 1000 bytes long is fine (the limit is inclusive), so the check above is the limit.
  // In segments of at most 255 bytes: a longer one is refused on its own (test/security/api-rules.test.ts).
  const long = `${'b'.repeat(250)}/`.repeat(3) + 'b'.repeat(247)
  t.equal(Buffer.byteLength(long), 1000)
  const ok = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine(long, 'ok')])
  t.equal(ok.status, 200, 'a 1000-byte path is accepted')
})

t.test('deletedFile of a missing file is 404 EntryNotFound', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'delmissing')
  const before = await snapshot(s, repo)
  const res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), { key: 'deletedFile', value: { path: 'nope.txt' } }])
  await expectHubError(t, res, { status: 404, code: 'EntryNotFound', message: /A file with this name doesn't exist/ })
  await assertUnchanged(t, s, repo, before)

  // Also when an earlier operation of the same commit would have succeeded: all or nothing.
  const res2 = await commitLines(s, `models/${repo}`, 'main', [
    headerLine(),
    fileLine('new.txt', 'new'),
    { key: 'deletedFile', value: { path: 'missing/deeper.txt' } },
  ])
  await expectHubError(t, res2, { status: 404, code: 'EntryNotFound', message: /A file with this name doesn't exist/ })
  await assertUnchanged(t, s, repo, before)
})

t.test('malformed bodies are 400 and nothing moves', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'malformed')
  const before = await snapshot(s, repo)
  const cases: [string, unknown[], RegExp?][] = [
    ['invalid base64 characters', [headerLine(), { key: 'file', value: { path: 'a.txt', content: 'not base64!!', encoding: 'base64' } }], /base64/],
    ['truncated base64', [headerLine(), { key: 'file', value: { path: 'a.txt', content: 'aGVsbG8', encoding: 'base64' } }], /base64/],
    ['a line that is not JSON', [headerLine(), '{"key": "file", "value": {"path": "a.txt",']],
    ['a JSON line that is not an object', [headerLine(), '[1, 2, 3]']],
    ['unknown key', [headerLine(), { key: 'renameFile', value: { path: 'a.txt' } }], /unknown key/],
    ['first line not a header', [fileLine('a.txt', 'a'), headerLine()], /header/],
    ['header only, no operations', [headerLine()], /lfsFile|file|deletedFile/],
    ['two headers', [headerLine(), headerLine(), fileLine('a.txt', 'a')]],
    ['header without summary', [{ key: 'header', value: { description: '' } }, fileLine('a.txt', 'a')], /summary/],
    ['file without content', [headerLine(), { key: 'file', value: { path: 'a.txt', encoding: 'base64' } }], /content/],
    ['unknown encoding', [headerLine(), { key: 'file', value: { path: 'a.txt', content: 'YQ==', encoding: 'rot13' } }]],
    ['lfsFile with a malformed oid', [headerLine(), { key: 'lfsFile', value: { path: 'm.bin', algo: 'sha256', oid: 'abc', size: 3 } }]],
    ['parentCommit that is not a commit id', [headerLine('x', { parentCommit: 'not-a-sha!' }), fileLine('a.txt', 'a')]],
    ['value that is not an object', [headerLine(), { key: 'file', value: 'a.txt' }]],
  ]
  for (const [what, lines, message] of cases) {
    const res = await commitLines(s, `models/${repo}`, 'main', lines)
    await expectHubError(t, res, { status: 400, code: null, ...(message ? { message } : {}) }, what)
  }
  // An empty body.
  const empty = await commitLines(s, `models/${repo}`, 'main', [])
  await expectHubError(t, empty, { status: 400, code: null }, 'empty body')
  await assertUnchanged(t, s, repo, before)

  // Blank lines are ignored (docs/hub-api.md §6.1), so a body that is otherwise good still commits.
  const ok = await commitLines(s, `models/${repo}`, 'main', ['', headerLine(), '   ', fileLine('a.txt', 'a'), ''])
  t.equal(ok.status, 200, 'blank lines are fine')
  t.not(await branchHead(s, repo), before.head, 'and the branch moved')
})

t.test('lfsFile naming an object never uploaded, or with the wrong size, is 400', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'lfsrefs')
  const data = Buffer.from('real lfs content\n')
  const oid = await uploadLfs(s, repo, data)
  const before = await snapshot(s, repo)

  const ghost = sha256('never uploaded anywhere')
  const res = await commitLines(s, `models/${repo}`, 'main', [
    headerLine(),
    { key: 'lfsFile', value: { path: 'ghost.bin', algo: 'sha256', oid: ghost, size: 23 } },
  ])
  await expectHubError(t, res, { status: 400, code: null, message: /does not exist/ }, 'unknown oid')
  await assertUnchanged(t, s, repo, before)

  // Without size (py copies) the object still has to exist.
  const res2 = await commitLines(s, `models/${repo}`, 'main', [
    headerLine(),
    { key: 'lfsFile', value: { path: 'ghost.bin', algo: 'sha256', oid: ghost } },
  ])
  await expectHubError(t, res2, { status: 400, code: null }, 'unknown oid without size')
  await assertUnchanged(t, s, repo, before)

  for (const size of [data.length - 1, data.length + 1, 0]) {
    const r = await commitLines(s, `models/${repo}`, 'main', [
      headerLine(),
      { key: 'lfsFile', value: { path: 'model.bin', algo: 'sha256', oid, size } },
    ])
    await expectHubError(t, r, { status: 400, code: null, message: /size/ }, `size ${size} instead of ${data.length}`)
  }
  await assertUnchanged(t, s, repo, before)

  // Control: the right size commits, so the refusals above are about the size.
  const good = await commitLines(s, `models/${repo}`, 'main', [
    headerLine(),
    { key: 'lfsFile', value: { path: 'model.bin', algo: 'sha256', oid, size: data.length } },
  ])
  t.equal(good.status, 200, 'the matching size is accepted')
})

t.test('lfsFile naming an object linked only to another private repo is 400', async (t) => {
  const s = await startServer(t)
  // The admin's private repo holds the object.
  const secretRepo = await createRepo(s, 'secret', { private: true })
  const secret = Buffer.from('top secret weights\n')
  const oid = await uploadLfs(s, secretRepo, secret)

  // bob, a plain user with a write token, commits into his own repo naming that oid.
  const bobToken = makeUser(s, 'bob')
  const bobRepo = await createRepoAs(s, bobToken, 'x')
  t.equal(bobRepo, 'bob/x')
  const before = await snapshot(s, bobRepo)
  for (const value of [
    { path: 'stolen.bin', algo: 'sha256', oid, size: secret.length },
    { path: 'stolen.bin', algo: 'sha256', oid },
  ]) {
    const res = await commitLines(s, `models/${bobRepo}`, 'main', [headerLine('steal'), { key: 'lfsFile', value }], bobToken)
    await expectHubError(t, res, { status: 400, code: null }, `foreign private object${value.size === undefined ? ' (no size)' : ''}`)
    await assertUnchanged(t, s, bobRepo, before)
  }
  // Nor does bob's failed attempt let him read it through his repo.
  const resolve = await fetch(`${s.url}/${bobRepo}/resolve/main/stolen.bin`, { headers: { authorization: `Bearer ${bobToken}` } })
  await expectHubError(t, resolve, { status: 404, code: 'EntryNotFound' }, 'nothing landed in bob/x')

  // Control: once bob uploads the same bytes himself (proving he has them) the commit works.
  const bobOid = await uploadLfs(s, bobRepo, secret, bobToken)
  t.equal(bobOid, oid)
  const ok = await commitLines(s, `models/${bobRepo}`, 'main', [
    headerLine(),
    { key: 'lfsFile', value: { path: 'mine.bin', algo: 'sha256', oid, size: secret.length } },
  ], bobToken)
  t.equal(ok.status, 200, 'after uploading it himself bob may reference it')
})

t.test('an object linked to a public repo may be reused by anyone', async (t) => {
  // The counterpart of the test above (docs/hub-api.md §5.10: anyone may reuse what anyone may download).
  const s = await startServer(t)
  const pub = await createRepo(s, 'public-weights')
  const data = Buffer.from('public weights\n')
  const oid = await uploadLfs(s, pub, data)
  const bobToken = makeUser(s, 'bob')
  const bobRepo = await createRepoAs(s, bobToken, 'y')
  const res = await commitLines(s, `models/${bobRepo}`, 'main', [
    headerLine(),
    { key: 'lfsFile', value: { path: 'w.bin', algo: 'sha256', oid, size: data.length } },
  ], bobToken)
  t.equal(res.status, 200)
  const got = await fetch(`${s.url}/${bobRepo}/resolve/main/w.bin`)
  t.equal(await got.text(), data.toString())
})

t.test('a refused commit does not link the LFS objects it named', async (t) => {
  // The admin names the private object in a commit to a public repo that fails (missing
  // deletedFile). The object must not become reusable through the public repo afterwards.
  const s = await startServer(t)
  const secretRepo = await createRepo(s, 'secret2', { private: true })
  const secret = Buffer.from('another secret\n')
  const oid = await uploadLfs(s, secretRepo, secret)
  const pub = await createRepo(s, 'pub2')
  const before = await snapshot(s, pub)
  const res = await commitLines(s, `models/${pub}`, 'main', [
    headerLine(),
    { key: 'lfsFile', value: { path: 'w.bin', algo: 'sha256', oid, size: secret.length } },
    { key: 'deletedFile', value: { path: 'does-not-exist.txt' } },
  ])
  await expectHubError(t, res, { status: 404, code: 'EntryNotFound' })
  await assertUnchanged(t, s, pub, before)

  const bobToken = makeUser(s, 'bob')
  const bobRepo = await createRepoAs(s, bobToken, 'z')
  const steal = await commitLines(s, `models/${bobRepo}`, 'main', [
    headerLine(),
    { key: 'lfsFile', value: { path: 'stolen.bin', algo: 'sha256', oid, size: secret.length } },
  ], bobToken)
  await expectHubError(t, steal, { status: 400, code: null }, 'still not reusable by bob')
})

t.test('commit to a missing branch or a tag-like rev is 404 RevisionNotFound', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'revs')
  const before = await snapshot(s, repo)
  for (const rev of ['nope', 'refs/pr/9', 'refs/tags/v1']) {
    const res = await commitLines(s, `models/${repo}`, rev, [headerLine(), fileLine('a.txt', 'a')])
    await expectHubError(t, res, { status: 404, code: 'RevisionNotFound', message: /^Invalid rev id: / }, `rev ${rev}`)
  }
  await assertUnchanged(t, s, repo, before)
})

t.test('a file line with utf-8 encoding and an empty base64 content are fine', async (t) => {
  // Guards the base64 check against being too strict (both are valid inputs).
  const s = await startServer(t)
  const repo = await createRepo(s, 'encodings')
  const res = await commitLines(s, `models/${repo}`, 'main', [
    headerLine(),
    { key: 'file', value: { path: 'u.txt', content: 'héllo', encoding: 'utf-8' } },
    { key: 'file', value: { path: 'empty.pkl', content: '', encoding: 'base64' } },
    { key: 'file', value: { path: 'b.txt', content: b64('hi'), encoding: 'base64' } },
  ])
  t.equal(res.status, 200)
  t.equal(await (await fetch(`${s.url}/${repo}/resolve/main/u.txt`)).text(), 'héllo')
  t.equal((await (await fetch(`${s.url}/${repo}/resolve/main/empty.pkl`)).arrayBuffer()).byteLength, 0)
})

t.test('an oversized body is 413, a wrong content type 415, bad percent-encoding 400', async (t) => {
  const s = await startServer(t, { HUBD_MAX_COMMIT_BODY: '4096' })
  const repo = await createRepo(s, 'limits')
  const before = await snapshot(s, repo)
  const big = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('big.txt', 'x'.repeat(8000))])
  await expectHubError(t, big, { status: 413, code: null }, 'body above HUBD_MAX_COMMIT_BODY')
  const json = await fetch(`${s.url}/api/models/${repo}/commit/main`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'text/plain' },
    body: JSON.stringify(headerLine()),
  })
  await expectHubError(t, json, { status: 415, code: null }, 'text/plain body')
  const enc = await commitLines(s, `models/${repo}`, '%E0%A4%A', [headerLine(), fileLine('a.txt', 'a')])
  t.equal(enc.status, 404, 'a revision that is not a branch')
  await enc.arrayBuffer()
  const badEnc = await fetch(`${s.url}/api/models/${repo}/commit/ma%zzin`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/x-ndjson' },
    body: [headerLine(), fileLine('a.txt', 'a')].map((l) => JSON.stringify(l)).join('\n'),
  })
  await expectHubError(t, badEnc, { status: 400, code: null }, 'bad percent-encoding in the revision')
  await assertUnchanged(t, s, repo, before)
  // Just under the limit still works.
  const ok = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('small.txt', 'x'.repeat(1000))])
  t.equal(ok.status, 200)
})

