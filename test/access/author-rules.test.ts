import t from 'tap'
import { ANONYMOUS, authorize, type Action, type Actor, type Facts } from '../../server/auth/access.js'
import { HubError } from '../../server/errors.js'

/** A signed-in caller with a token of `role` and the given org roles. */
function person(name: string, role: 'read' | 'write', orgs: Record<string, 'read' | 'write' | 'admin'> = {}): Actor {
  return {
    user: { id: name, name, fullname: '', type: 'user', is_admin: 0, created_at: '' },
    token: { id: `${name}-t`, user_id: name, name: 't', role, created_at: '', expires_at: null, revoked_at: null },
    badToken: false,
    memberships: [],
    roles: new Map(Object.entries(orgs)),
    publicRead: true,
  }
}

const repo = { namespace: 'org', private: 0 }
const secret = { namespace: 'org', private: 1 }

/** The status `authorize` answers with (200 when it allows). */
function answer(actor: Actor, action: Action, on: { namespace: string; private: number }, facts?: Facts): { status: number; message?: string } {
  try {
    authorize(actor, action, on, facts)
    return { status: 200 }
  } catch (err) {
    if (!(err instanceof HubError)) throw err
    return { status: err.status, message: err.message }
  }
}

const alice = person('alice', 'write')
const aliceRead = person('alice', 'read')
const writer = person('wendy', 'write', { org: 'write' })

t.test('commit: a PR author pushes to their PR; a branch, or someone else\'s PR, needs write', async (t) => {
  t.equal(answer(alice, 'commit', repo, { author: 'alice' }).status, 200, 'own PR')
  t.equal(answer(alice, 'commit', repo, { author: 'bob' }).status, 403, "someone else's PR")
  t.equal(answer(alice, 'commit', repo, { author: null }).status, 403, 'a branch')
  t.equal(answer(alice, 'commit', repo).status, 403, 'no facts: not the author')
  t.equal(answer(writer, 'commit', repo, { author: null }).status, 200, 'write access commits anywhere')
  t.equal(answer(aliceRead, 'commit', repo, { author: 'alice' }).status, 403, 'the author still needs a write token (contribute)')
  t.equal(answer(alice, 'commit', secret, { author: 'alice' }).status, 404, 'and to see the repo')
  t.equal(answer(ANONYMOUS, 'commit', repo, { author: null }).status, 401, 'anonymous: sign in first')
})

t.test('discussion.edit: the author, or write access', async (t) => {
  t.equal(answer(alice, 'discussion.edit', repo, { author: 'alice' }).status, 200, 'the author')
  t.equal(answer(alice, 'discussion.edit', repo, { author: 'bob' }).status, 403, 'a stranger')
  t.equal(answer(writer, 'discussion.edit', repo, { author: 'bob' }).status, 200, 'a writer')
})

t.test('comment.edit: the author only, whatever the rights of others', async (t) => {
  t.equal(answer(alice, 'comment.edit', repo, { author: 'alice' }).status, 200, 'the author')
  t.same(answer(writer, 'comment.edit', repo, { author: 'alice' }), { status: 403, message: 'Only the author of a comment may edit it' }, 'a writer')
  t.equal(answer(aliceRead, 'comment.edit', repo, { author: 'alice' }).status, 403, 'the author with a read token')
})

t.test('anonymous callers are asked to sign in, whatever the author', async (t) => {
  for (const action of ['commit', 'discussion.edit', 'comment.edit'] as const) {
    t.equal(answer(ANONYMOUS, action, repo, { author: null }).status, 401, action)
  }
})
