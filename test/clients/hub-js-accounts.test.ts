/**
 * Accounts through the real @huggingface/hub client (issue 5): whoAmI of a user in orgs, creating
 * repos in an org by role, a private repo that another user's token cannot tell from a missing one,
 * and a revoked token refused.
 */
import t, { type Test } from 'tap'
import { createRepo, downloadFile, HubApiError, listModels, modelInfo, repoExists, whoAmI, type RepoDesignation } from '@huggingface/hub'
import { startServer } from '../helpers/server.js'
import { addMember, createOrg, createToken, createUser, revokeToken } from '../helpers/accounts.js'

/** The error a client call rejects with (fails the test if it resolves). */
async function failure(t: Test, p: Promise<unknown>, what: string): Promise<HubApiError | null> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(err instanceof HubApiError)) {
    t.fail(`${what}: expected a HubApiError, got ${err === null ? 'success' : String(err)}`)
    return null
  }
  return err
}

/** A client error message without its URL / request-id trailer (those differ between repos). */
const gist = (e: HubApiError | null) => e?.message.replace(/\. URL: .*$/, '') ?? ''

t.test('@huggingface/hub with users, orgs and tokens', async (t) => {
  const s = await startServer(t)
  const hubUrl = s.url
  await createUser(hubUrl, 'alice', 'Alice Liddell')
  await createUser(hubUrl, 'bob')
  await createUser(hubUrl, 'carl')
  await createOrg(hubUrl, 'wonderland', 'Wonderland Inc')
  await createOrg(hubUrl, 'looking-glass')
  await addMember(hubUrl, 'wonderland', 'alice', 'write')
  await addMember(hubUrl, 'looking-glass', 'alice', 'admin')
  await addMember(hubUrl, 'wonderland', 'bob', 'read')
  const alice = await createToken(hubUrl, 'alice', 'write', { name: 'laptop' })
  const bob = await createToken(hubUrl, 'bob', 'write', { name: 'bob-ci' })
  const carl = await createToken(hubUrl, 'carl', 'read', { name: 'carl-ro' })

  t.test('whoAmI: the user, their orgs with roles, and the token', async (t) => {
    const me = await whoAmI({ hubUrl, accessToken: alice.token })
    t.equal(me.type, 'user')
    t.equal(me.name, 'alice')
    if (me.type !== 'user') return
    t.equal(me.fullname, 'Alice Liddell')
    t.equal(typeof me.id, 'string')
    const orgs = me.orgs as (typeof me.orgs[number] & { roleInOrg?: string })[]
    t.same(
      orgs.map((o) => [o.name, o.type, o.roleInOrg]).sort(),
      [
        ['looking-glass', 'org', 'admin'],
        ['wonderland', 'org', 'write'],
      ],
      'both orgs, with the role in each',
    )
    t.equal(orgs.find((o) => o.name === 'wonderland')?.fullname, 'Wonderland Inc')
    t.equal(me.auth.type, 'access_token')
    t.equal(me.auth.accessToken?.displayName, 'laptop', 'the token name')
    t.equal(me.auth.accessToken?.role, 'write')
    t.ok(me.auth.accessToken?.createdAt instanceof Date && !Number.isNaN(me.auth.accessToken.createdAt.getTime()), 'createdAt is a date')

    const ro = await whoAmI({ hubUrl, accessToken: carl.token })
    t.equal(ro.name, 'carl')
    if (ro.type === 'user') t.same(ro.orgs, [], 'no orgs')
    t.equal(ro.auth.accessToken?.role, 'read')
    t.equal(ro.auth.accessToken?.displayName, 'carl-ro')
  })

  t.test('createRepo in an org: a write member can, a read member cannot', async (t) => {
    const repo: RepoDesignation = { type: 'model', name: 'wonderland/by-alice' }
    const created = await createRepo({ hubUrl, accessToken: alice.token, repo })
    t.equal(created.repoUrl, `${hubUrl}/wonderland/by-alice`)
    const info = await modelInfo({ hubUrl, accessToken: bob.token, name: 'wonderland/by-alice' })
    t.equal(info.name, 'wonderland/by-alice', 'a read member sees it')

    const denied = await failure(t, createRepo({ hubUrl, accessToken: bob.token, repo: { type: 'model', name: 'wonderland/by-bob' } }), 'read member creates')
    t.equal(denied?.statusCode, 403, 'a read member is refused with 403')
    t.ok(gist(denied).length > 10 && !/^Api error with status/.test(gist(denied)), `a clear message: ${gist(denied)}`)
    t.notOk(await repoExists({ hubUrl, accessToken: alice.token, repo: { type: 'model', name: 'wonderland/by-bob' } }), 'nothing was created')

    const outsider = await failure(t, createRepo({ hubUrl, accessToken: bob.token, repo: { type: 'model', name: 'looking-glass/by-bob' } }), 'non-member creates')
    t.equal(outsider?.statusCode, 403, 'not a member: 403')
    const readToken = await failure(t, createRepo({ hubUrl, accessToken: carl.token, repo: { type: 'model', name: 'carl/mine' } }), 'read token creates')
    t.equal(readToken?.statusCode, 403, 'a read token cannot create, even in its own namespace')

    // An admin member creates a private repo in the org.
    await createRepo({ hubUrl, accessToken: alice.token, repo: { type: 'dataset', name: 'looking-glass/secret-data' }, private: true })
    const ds = await repoExists({ hubUrl, accessToken: alice.token, repo: { type: 'dataset', name: 'looking-glass/secret-data' } })
    t.ok(ds, 'the private org dataset exists for its member')
  })

  t.test("a private repo is invisible to another user's token", async (t) => {
    const repo: RepoDesignation = { type: 'model', name: 'alice/secret' }
    await createRepo({
      hubUrl,
      accessToken: alice.token,
      repo,
      visibility: 'private',
      files: [{ path: 'README.md', content: new Blob(['# secret\n']) }],
    })
    const mine = await downloadFile({ hubUrl, accessToken: alice.token, repo, path: 'README.md' })
    t.equal(await mine?.text(), '# secret\n', 'the owner downloads it')

    const missing: RepoDesignation = { type: 'model', name: 'alice/never-created' }
    for (const [who, token] of [
      ['bob', bob.token],
      ['carl', carl.token],
    ] as const) {
      const infoErr = await failure(t, modelInfo({ hubUrl, accessToken: token, name: 'alice/secret' }), `${who} modelInfo`)
      const infoMissing = await failure(t, modelInfo({ hubUrl, accessToken: token, name: 'alice/never-created' }), `${who} modelInfo missing`)
      t.equal(infoErr?.statusCode, 404, `${who}: modelInfo 404`)
      t.equal(gist(infoErr), gist(infoMissing), `${who}: modelInfo fails exactly as for a missing repo`)

      const dlErr = await failure(t, downloadFile({ hubUrl, accessToken: token, repo, path: 'README.md' }), `${who} downloadFile`)
      const dlMissing = await failure(t, downloadFile({ hubUrl, accessToken: token, repo: missing, path: 'README.md' }), `${who} downloadFile missing`)
      t.equal(dlErr?.statusCode, 404, `${who}: downloadFile 404`)
      t.equal(gist(dlErr), gist(dlMissing), `${who}: downloadFile fails exactly as for a missing repo`)
      t.notOk(await repoExists({ hubUrl, accessToken: token, repo }), `${who}: repoExists is false`)

      const listed: string[] = []
      for await (const m of listModels({ hubUrl, accessToken: token, search: { owner: 'alice' } })) listed.push(m.name)
      t.notOk(listed.includes('alice/secret'), `${who}: not listed by author`)
      const searched: string[] = []
      for await (const m of listModels({ hubUrl, accessToken: token, search: { query: 'secret' } })) searched.push(m.name)
      t.notOk(searched.includes('alice/secret'), `${who}: not found by search`)
    }
    const anon: string[] = []
    for await (const m of listModels({ hubUrl, search: { owner: 'alice' } })) anon.push(m.name)
    t.notOk(anon.includes('alice/secret'), 'not listed anonymously')
    const own: string[] = []
    for await (const m of listModels({ hubUrl, accessToken: alice.token, search: { owner: 'alice' } })) own.push(m.name)
    t.ok(own.includes('alice/secret'), 'listed for its owner')
    // The org's private dataset: not visible to bob (a member of another org only).
    t.notOk(
      await repoExists({ hubUrl, accessToken: bob.token, repo: { type: 'dataset', name: 'looking-glass/secret-data' } }),
      "bob cannot see another org's private dataset",
    )
  })

  t.test('a revoked token: whoAmI rejects', async (t) => {
    const temp = await createToken(hubUrl, 'alice', 'write', { name: 'temporary' })
    t.equal((await whoAmI({ hubUrl, accessToken: temp.token })).name, 'alice', 'works before')
    await revokeToken(hubUrl, temp.id)
    const err = await failure(t, whoAmI({ hubUrl, accessToken: temp.token }), 'whoAmI with a revoked token')
    t.equal(err?.statusCode, 401)
    t.match(gist(err), 'Invalid credentials in Authorization header')
    const info = await failure(t, modelInfo({ hubUrl, accessToken: temp.token, name: 'wonderland/by-alice' }), 'modelInfo with a revoked token')
    t.equal(info?.statusCode, 401, 'even a public repo read is refused with a revoked token')
  })
})
