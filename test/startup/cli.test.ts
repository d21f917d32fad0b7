/**
 * The `hubd` admin CLI (dist/server/cli.js, issue 5) on the data dir of a running server: what it
 * creates works against that server at once, it prints a token and nothing else, never shows a
 * secret again, and bad input exits non-zero with a message on stderr and creates nothing.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../../server/project-root.js'
import { freePort, spawnServer } from '../helpers/process.js'
import { ADMIN_TOKEN } from '../helpers/server.js'

const CLI = path.join(projectRoot(), 'dist/server/cli.js')

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

t.test('hubd CLI against the data dir of a running server', { skip: fs.existsSync(CLI) ? false : 'dist/server/cli.js is missing: run npm run build' }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-cli-'))
  const server = await spawnServer(dataDir, await freePort())
  t.teardown(async () => {
    await server.kill('SIGTERM')
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  const cli = (...args: string[]) =>
    new Promise<CliResult>((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HUBD_DATA_DIR: dataDir } }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
      })
    })
  const whoami = async (token: string) => {
    const res = await fetch(`${server.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } })
    return { status: res.status, body: (await res.json()) as { name?: string; fullname?: string; orgs?: { name: string; roleInOrg: string }[]; auth?: { accessToken?: { role: string; displayName: string } } } }
  }
  const ok = (r: CliResult, what: string) => {
    t.equal(r.code, 0, `${what}: exit 0${r.code ? ` (${r.stderr.trim()})` : ''}`)
    t.equal(r.stderr, '', `${what}: nothing on stderr`)
  }
  /** Non-zero exit, a one-or-more-line message on stderr, and no partial output on stdout. */
  const refused = (r: CliResult, what: string, message?: RegExp) => {
    t.not(r.code, 0, `${what}: non-zero exit`)
    t.ok(r.stderr.trim().length > 0, `${what}: a message on stderr`)
    if (message) t.match(r.stderr, message, `${what}: says why`)
    t.equal(r.stdout, '', `${what}: nothing on stdout`)
    t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`)
  }

  ok(await cli('user', 'create', 'alice', '--fullname', 'Alice A'), 'user create alice')

  const created = await cli('token', 'create', '--user', 'alice', '--role', 'write', '--name', 'ci')
  ok(created, 'token create')
  t.match(created.stdout, /^hf_[A-Za-z0-9]{20,}\n$/, 'exactly one line: an hf_ token')
  const token = created.stdout.trim()
  const me = await whoami(token)
  t.equal(me.status, 200, 'the new token works against the running server')
  t.equal(me.body.name, 'alice')
  t.equal(me.body.auth?.accessToken?.role, 'write')
  t.equal(me.body.auth?.accessToken?.displayName, 'ci')
  t.equal(me.body.fullname, 'Alice A', '--fullname is kept')

  const listed = await cli('token', 'list', '--user', 'alice')
  ok(listed, 'token list')
  t.match(listed.stdout, /\bci\b/, 'lists the token by name')
  t.notMatch(listed.stdout, token, 'never the secret')
  t.notMatch(listed.stdout, token.slice(3, 15), 'not even part of it')
  const fromApi = (await (await fetch(`${server.url}/api/admin/tokens?user=alice`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { id: string; name: string }[]
  const id = fromApi.find((x) => x.name === 'ci')?.id
  if (!t.ok(id, 'the admin API knows the token id')) return
  t.match(listed.stdout, id!, 'the CLI list shows the id')

  // Bad input first, while the state is known: nothing may be created.
  const listAll = async () => (await Promise.all([cli('user', 'list'), cli('org', 'list'), cli('token', 'list')])).map((r) => r.stdout)
  const [usersBefore, orgsBefore, tokensBefore] = await listAll()
  // Independent commands: run side by side (each is a node start-up).
  const bad: [string[], string, RegExp?][] = [
    [['token', 'create', '--user', 'nobody', '--role', 'write'], 'token for an unknown user', /nobody/],
    [['token', 'create', '--user', 'alice', '--role', 'owner'], 'bad token role', /role/i],
    [['token', 'create', '--user', 'alice', '--role', 'write', '--expires', '2001-01-01T00:00:00Z'], 'expiry in the past'],
    [['token', 'create', '--user', 'alice', '--role', 'write', '--expires', 'tomorrow'], 'expiry not a date'],
    [['token', 'create', '--role', 'write'], 'token without --user'],
    [['user', 'create', 'api'], 'reserved name api', /reserved|api/i],
    [['user', 'create', 'ALICE'], 'a name differing only by case', /exist|taken|ALICE|alice/i],
    [['org', 'create', 'Alice'], 'an org named like a user, other case'],
    [['user', 'create', 'bad name'], 'a name with a space'],
    [['user', 'create', 'a--b'], 'a name with --'],
    [['user', 'create'], 'user create without a name'],
    [['token', 'revoke', 'no-such-token-id'], 'revoking an unknown token'],
    [['frobnicate'], 'an unknown command'],
    [['user', 'create', 'carol', '--bogus'], 'an unknown flag'],
  ]
  const answers = await Promise.all(bad.map(([args]) => cli(...args)))
  bad.forEach(([, what, message], i) => refused(answers[i]!, what, message))
  const [usersAfter, orgsAfter, tokensAfter] = await listAll()
  t.equal(usersAfter, usersBefore, 'no user was created by the bad commands')
  t.equal(orgsAfter, orgsBefore, 'no org was created by the bad commands')
  t.equal(tokensAfter, tokensBefore, 'no token was created by the bad commands')
  t.equal((await whoami(token)).status, 200, 'the good token still works')

  // Orgs and members, seen by the server at once.
  ok(await cli('org', 'create', 'acme'), 'org create acme')
  ok(await cli('org', 'add-member', 'acme', 'alice', '--role', 'write'), 'org add-member')
  const [badRole, noUser, noOrg, notOrg, members] = await Promise.all([
    cli('org', 'add-member', 'acme', 'alice', '--role', 'owner'),
    cli('org', 'add-member', 'acme', 'nobody', '--role', 'read'),
    cli('org', 'add-member', 'no-org', 'alice', '--role', 'read'),
    cli('org', 'add-member', 'alice', 'alice', '--role', 'read'),
    cli('org', 'members', 'acme'),
  ])
  refused(badRole!, 'add-member with a bad role', /role/i)
  refused(noUser!, 'add-member of an unknown user', /nobody/)
  refused(noOrg!, 'add-member to an unknown org', /no-org/)
  refused(notOrg!, 'add-member to a user, not an org')
  ok(members, 'org members')
  t.match(members.stdout, /alice\s+write/, 'alice is a write member')
  t.same(
    (await whoami(token)).body.orgs?.map((o) => [o.name, o.roleInOrg]),
    [['acme', 'write']],
    'whoami shows the org membership',
  )
  const repo = await fetch(`${server.url}/api/repos/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'anvil', organization: 'acme', private: true }),
  })
  t.equal(repo.status, 200, 'a write member creates a repo in the org')
  const repos = await cli('repo', 'list')
  ok(repos, 'repo list')
  t.match(repos.stdout, /acme\/anvil/, 'repo list shows the new repo')
  t.match(repos.stdout, /private/, 'with its visibility')
  refused(await cli('org', 'delete', 'acme'), 'deleting an org that has repos', /repo/i)
  refused(await cli('user', 'delete', 'nobody'), 'deleting an unknown user')

  // Removing a member and deleting a user take effect on the running server at once.
  ok(await cli('org', 'remove-member', 'acme', 'alice'), 'org remove-member')
  t.same((await whoami(token)).body.orgs, [], 'alice is in no org any more')
  t.equal((await cli('org', 'members', 'acme')).stdout, '', 'acme has no members')
  ok(await cli('user', 'create', 'bob'), 'user create bob')
  const bobToken = (await cli('token', 'create', '--user', 'bob', '--role', 'read')).stdout.trim()
  t.equal((await whoami(bobToken)).status, 200, "bob's token works")
  ok(await cli('user', 'delete', 'bob'), 'user delete bob')
  t.equal((await whoami(bobToken)).status, 401, "a deleted user's token gets 401")
  t.notMatch((await cli('user', 'list')).stdout, /\bbob\b/, 'bob is gone from the list')

  // Revoking: the running server refuses the token from then on.
  ok(await cli('token', 'revoke', id!), 'token revoke')
  const after = await whoami(token)
  t.equal(after.status, 401, 'a revoked token gets 401')
  t.match((await cli('token', 'list', '--user', 'alice')).stdout, /revoked/, 'the list says it is revoked')

  // A token with an expiry in the future works.
  const expiring = await cli('token', 'create', '--user', 'alice', '--role', 'read', '--expires', new Date(Date.now() + 3600_000).toISOString())
  ok(expiring, 'token create --expires')
  const ro = await whoami(expiring.stdout.trim())
  t.equal(ro.status, 200)
  t.equal(ro.body.auth?.accessToken?.role, 'read')
})
