import t from 'tap'
import { authed, commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'

/** A user with a write token, made through the admin API. */
async function userWithToken(s: TestServer, name: string): Promise<string> {
  const u = await authed(s, '/api/admin/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
  t.equal(u.status, 200, `create user ${name}`)
  const tok = await authed(s, '/api/admin/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: name, role: 'write' }),
  })
  return ((await tok.json()) as { token: string }).token
}

function post(s: TestServer, path: string, token: string, body?: unknown): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

t.test('PR diff, rename, comment edit and hide (py rename_discussion, edit/hide_discussion_comment)', async (t) => {
  const s = await startServer(t)
  await createRepo(s, 'admin/disc')
  const alice = await userWithToken(s, 'alice')
  const bob = await userWithToken(s, 'bob')
  const header = (summary: string) => ({ key: 'header', value: { summary, description: '' } })
  const file = (path: string, text: string) => ({ key: 'file', value: { path, content: Buffer.from(text).toString('base64'), encoding: 'base64' } })

  // alice is a stranger to admin/disc: she may open a PR (contribute) but not commit to main.
  const denied = await commitLines(s, 'models/admin/disc', 'main', [header('direct'), file('x.txt', 'x\n')], alice)
  t.equal(denied.status, 403, 'a stranger cannot commit to main')
  const opened = await fetch(`${s.url}/api/models/admin/disc/commit/main?create_pr=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/x-ndjson' },
    body: [header('add notes'), file('notes.txt', 'hello\nworld\n')].map((l) => JSON.stringify(l)).join('\n'),
  })
  t.equal(opened.status, 200, 'a stranger opens a PR')
  const num = Number(((await opened.json()) as { pullRequestUrl: string }).pullRequestUrl.split('/').pop())

  const details = await authed(s, `/api/models/admin/disc/discussions/${num}?diff=1`)
  const d = (await details.json()) as { diff: string; title: string }
  t.match(d.diff, /^diff --git a\/notes\.txt b\/notes\.txt$/m, 'diff names the file')
  t.match(d.diff, /^\+world$/m, 'diff shows the added lines')
  const noDiff = (await (await authed(s, `/api/models/admin/disc/discussions/${num}`)).json()) as Record<string, unknown>
  t.notOk('diff' in noDiff, 'no diff unless asked')

  // Rename: the author may, a stranger may not, the repo owner (admin) may.
  t.equal((await post(s, `/api/models/admin/disc/discussions/${num}/title`, bob, { title: 'hijacked' })).status, 403, 'a stranger cannot rename')
  const renamed = await post(s, `/api/models/admin/disc/discussions/${num}/title`, alice, { title: 'Add notes (v2)' })
  t.equal(renamed.status, 200)
  const ev = ((await renamed.json()) as { newTitle: { type: string; data: { from: string; to: string } } }).newTitle
  t.same([ev.type, ev.data.from, ev.data.to], ['title-change', 'add notes', 'Add notes (v2)'])
  t.equal(((await (await authed(s, `/api/models/admin/disc/discussions/${num}`)).json()) as { title: string }).title, 'Add notes (v2)')
  t.equal((await post(s, `/api/models/admin/disc/discussions/${num}/title`, alice, { title: 'x' })).status, 400, 'a too short title is a 400')

  // Comments: bob comments; only bob edits; the owner hides.
  const c = await post(s, `/api/models/admin/disc/discussions/${num}/comment`, bob, { comment: 'looks good' })
  t.equal(c.status, 200, 'a stranger comments')
  const commentId = ((await c.json()) as { newMessage: { id: string } }).newMessage.id
  t.equal((await post(s, `/api/models/admin/disc/discussions/${num}/comment/${commentId}/edit`, alice, { content: 'no' })).status, 403, 'only the author edits')
  const edited = await post(s, `/api/models/admin/disc/discussions/${num}/comment/${commentId.toUpperCase()}/edit`, bob, { content: 'looks great' })
  t.equal(edited.status, 404, 'ids are lowercase (py lowercases them)')
  const edited2 = await post(s, `/api/models/admin/disc/discussions/${num}/comment/${commentId}/edit`, bob, { content: 'looks great' })
  const upd = ((await edited2.json()) as { updatedComment: { data: { edited: boolean; numEdits: number; latest: { raw: string } } } }).updatedComment
  t.same([upd.data.edited, upd.data.numEdits, upd.data.latest.raw], [true, 1, 'looks great'])
  t.equal((await post(s, `/api/models/admin/disc/discussions/${num}/comment/${commentId}/hide`, bob)).status, 403, 'hiding needs write access')
  const hidden = await post(s, `/api/models/admin/disc/discussions/${num}/comment/${commentId}/hide`, s.token)
  const h = ((await hidden.json()) as { updatedComment: { data: { hidden: boolean; latest: { raw: string } } } }).updatedComment
  t.same([h.data.hidden, h.data.latest.raw], [true, ''], 'hidden comments lose their content')
  const events = ((await (await authed(s, `/api/models/admin/disc/discussions/${num}`)).json()) as { events: { id: string; data: { hidden?: boolean; latest?: { raw: string } } }[] }).events
  t.same(events.find((e) => e.id === commentId)?.data.latest?.raw, '', 'the stored comment is blanked')
  t.equal((await post(s, `/api/models/admin/disc/discussions/${num}/comment/${'0'.repeat(24)}/edit`, bob, { content: 'x' })).status, 404, 'unknown comment → 404')
  const nf = await post(s, `/api/models/admin/disc/discussions/${num}/comment/not-an-id/hide`, s.token)
  t.equal(nf.headers.get('x-error-code'), 'EntryNotFound')
})
