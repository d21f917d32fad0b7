/**
 * What an attacker tries through the HTTP API against the same rules a push keeps (issue 13, items
 * 6 and 7): commit names no checkout can hold (a segment over 255 bytes, NFC/NFD twins), and a
 * moved repo's old id in a request body — which must name no repo at all rather than loop on
 * redirects or act on the repo it moved to. Every refusal is in the Hub's error format and changes nothing.
 */
import t from 'tap'
import { assertUnchanged, expectHubError, fileLine, headerLine, snapshot } from '../helpers/error-helpers.js'
import { authed, commitLines, createRepo, startServer } from '../helpers/server.js'

const NFC = 'caf\u00e9.txt'
const NFD = 'cafe\u0301.txt'

t.test('commit: a path segment over 255 bytes is a 422, 255 bytes is fine', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'long')
  for (const p of [`${'x'.repeat(300)}.txt`, `a/${'é'.repeat(128)}/b.txt`, `${'z'.repeat(256)}`]) {
    const before = await snapshot(s, repo)
    const res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('ok.txt', 'ok'), fileLine(p, 'long')])
    await expectHubError(t, res, { status: 422, code: null, message: /bytes; a file or folder name may have at most 255/ }, `${Buffer.byteLength(p)}-byte path`)
    await assertUnchanged(t, s, repo, before)
  }
  const res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('y'.repeat(255), 'just fits'), fileLine(`${'é'.repeat(127)}/a`, 'x')])
  t.equal(res.status, 200, '255- and 254-byte names are accepted')
  const copy = await commitLines(s, `models/${repo}`, 'main', [headerLine(), { key: 'copyFile', value: { srcPath: 'y'.repeat(255), path: 'w'.repeat(256) } }])
  await expectHubError(t, copy, { status: 422, message: /at most 255/ }, 'a copy to a long name')
  const del = await commitLines(s, `models/${repo}`, 'main', [headerLine(), { key: 'deletedFile', value: { path: 'y'.repeat(255) } }])
  t.equal(del.status, 200, 'deleting is always possible')
})

t.test('commit: a name equal in NFC to another in the folder is a 422', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'nfc')
  let before = await snapshot(s, repo)
  let res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine(`d/${NFC}`, 'composed'), fileLine(`d/${NFD}`, 'decomposed')])
  await expectHubError(t, res, { status: 422, code: null, message: 'd/cafe\\u0301.txt: the name is the same as "d/caf\\u00e9.txt" once Unicode-normalized (NFC); they would be one file on macOS' }, 'both forms in one commit')
  await assertUnchanged(t, s, repo, before)

  t.equal((await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine(`d/${NFC}`, 'composed')])).status, 200, 'one form alone')
  before = await snapshot(s, repo)
  res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine(`d/${NFD}`, 'decomposed')])
  await expectHubError(t, res, { status: 422, message: /once Unicode-normalized/ }, 'the other form next to a stored file')
  res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine(`${'cafe\u0301'}/x.txt`, 'x'), fileLine('caf\u00e9/y.txt', 'y')])
  await expectHubError(t, res, { status: 422, message: /once Unicode-normalized/ }, 'folders too')
  res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('\u212a.txt', 'kelvin'), fileLine('K.txt', 'k')])
  await expectHubError(t, res, { status: 422, message: /once Unicode-normalized/ }, 'a non-ASCII name whose NFC form is ASCII')
  await assertUnchanged(t, s, repo, before)

  res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine(`d/${NFC}`, 'again')])
  t.equal(res.status, 200, 'the same name is overwritten')
  res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), { key: 'deletedFile', value: { path: `d/${NFC}` } }, fileLine(`d/${NFD}`, 'renamed')])
  t.equal(res.status, 200, 'a rename between the forms in one commit is accepted')
  const tree = (await (await authed(s, `/api/models/${repo}/tree/main/d`)).json()) as { path: string }[]
  t.same(tree.map((e) => e.path), [`d/${NFD}`], 'only the new form is left')
})

t.test('repo creation with files keeps the same rules', async (t) => {
  const s = await startServer(t)
  const res = await authed(s, '/api/repos/create', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'seeded', files: [{ path: NFC, content: 'a' }, { path: NFD, content: 'b' }] }),
  })
  await expectHubError(t, res, { status: 422, message: /once Unicode-normalized/ })
  t.equal((await authed(s, '/api/models/admin/seeded')).status, 404, 'no repo was created')
})

t.test("a moved repo's old id in a request body is a missing repo, never a redirect", async (t) => {
  const s = await startServer(t)
  await createRepo(s, 'before')
  const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), redirect: 'manual' as const })
  t.equal((await authed(s, '/api/repos/move', { method: 'POST', ...json({ fromRepo: 'admin/before', toRepo: 'admin/after' }) })).status, 200)

  const urlRedirect = await authed(s, '/api/models/admin/before', { redirect: 'manual' })
  t.equal(urlRedirect.status, 307, 'a URL carrying the old id still redirects')

  const del = await authed(s, '/api/repos/delete', { method: 'DELETE', ...json({ name: 'admin/before', type: 'model' }) })
  await expectHubError(t, del, { status: 404, code: 'RepoNotFound', message: 'Repository not found' }, 'repos/delete with the old id')
  t.equal(del.headers.get('location'), null, 'no Location header')
  const move = await authed(s, '/api/repos/move', { method: 'POST', ...json({ fromRepo: 'admin/before', toRepo: 'admin/elsewhere' }) })
  await expectHubError(t, move, { status: 404, code: 'RepoNotFound' }, 'repos/move with the old id')
  t.equal((await authed(s, '/api/models/admin/after')).status, 200, 'the moved repo is untouched')
  t.equal((await authed(s, '/api/models/admin/elsewhere')).status, 404, 'and was not moved again')

  const gone = await authed(s, '/api/repos/delete', { method: 'DELETE', ...json({ name: 'after', organization: 'admin', type: 'model' }) })
  t.equal(gone.status, 200, 'its new id deletes it')
})
