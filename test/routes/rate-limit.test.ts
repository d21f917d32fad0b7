/**
 * Rate limiting (issue 5): fixed windows per token, or per IP without a valid token, in the Hub's
 * `api` and `resolvers` buckets; a 429 in each route's error dialect with the RateLimit headers
 * hub-py reads (`RateLimit: "api";r=0;t=N`, `RateLimit-Policy: …;q=Q;w=W`, `Retry-After: N`).
 */
import { randomBytes } from 'node:crypto'
import { HubApiError, modelInfo } from '@huggingface/hub'
import type { FastifyReply, FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../../server/config.js'
import { ANONYMOUS } from '../../server/auth/access.js'
import { FixedWindowLimiter, routePolicy } from '../../server/rate-limit.js'
import { commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'
import { expectHeadError, expectHubError, fileLine, headerLine, lfsBatch, makeUser, putBytes, sha256 } from '../helpers/error-helpers.js'

// hub-py's parsers (src/huggingface_hub/utils/_http.py), so the headers are known to be read.
const PY_RATELIMIT = /"(?<resource_type>\w+)"\s*;\s*r\s*=\s*(?<r>\d+)\s*;\s*t\s*=\s*(?<t>\d+)/
const PY_POLICY = /q\s*=\s*(?<q>\d+).*?w\s*=\s*(?<w>\d+)/
const LIMITED = /^Rate limit reached: \d+ "(api|resolvers)" requests per \d+ seconds for /

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Fires `n` identical requests at once, so they all land in one window; returns them by status. */
async function burst(n: number, send: () => Promise<Response>): Promise<{ ok: Response[]; limited: Response[] }> {
  const all = await Promise.all(Array.from({ length: n }, () => send()))
  return { ok: all.filter((r) => r.status !== 429), limited: all.filter((r) => r.status === 429) }
}

const drain = (rs: Response[]) => Promise.all(rs.map((r) => r.arrayBuffer()))

function bearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } }
}

async function withRepo(t: Test, env: Record<string, string>): Promise<{ s: TestServer; repo: string }> {
  const s = await startServer(t, env)
  const repo = await createRepo(s, 'limited')
  const res = await commitLines(s, `models/${repo}`, 'main', [headerLine(), fileLine('config.json', '{"a":1}')])
  t.equal(res.status, 200, 'setup commit')
  await res.arrayBuffer()
  return { s, repo }
}

t.test('routes are classified into the api and resolvers buckets', async (t) => {
  const cases: [string, string | null][] = [
    ['/api/:types', 'api'],
    ['/api/:types/:ns/:name', 'api'],
    ['/api/:types/:ns/:name/revision/*', 'api'],
    ['/api/:types/:ns/:name/tree/*', 'api'],
    ['/api/:types/:ns/:name/commits/*', 'api'],
    ['/api/:types/:ns/:name/preupload/*', 'api'],
    ['/api/:types/:ns/:name/commit/*', 'api'],
    ['/api/:types/:ns/:name/paths-info/*', 'api'],
    ['/api/repos/create', 'api'],
    ['/:ns/:name/info/lfs/objects/batch', 'api'],
    ['/datasets/:ns/:name/info/lfs/objects/batch', 'api'],
    ['/:ns/:name/info/refs', 'api'],
    ['/spaces/:ns/:name/git-upload-pack', 'api'],
    ['/:ns/:name/git-receive-pack', 'api'],
    ['/:ns/:name/resolve/*', 'resolvers'],
    ['/datasets/:ns/:name/raw/*', 'resolvers'],
    ['/api/lfs/download/:oid', 'resolvers'],
    // Not limited: cheap, internal, site-admin only, or signed object transfers that follow a batch.
    ['/api/whoami-v2', null],
    ['/api/telemetry/*', null],
    ['/api/validate-yaml', null],
    ['/api/lfs/upload/:oid', null],
    ['/api/lfs/multipart/:oid/:uploadId/:part', null],
    ['/api/lfs/verify/:oid', null],
    ['/api/_internal/git-hooks/pre-receive', null],
    ['/api/admin/users', null],
    ['/api/admin/orgs/:org/members/:user', null],
    ['/:ns/:name/info/lfs/locks', null],
    ['*', null],
  ]
  for (const [url, policy] of cases) t.equal(routePolicy(url), policy, url)
})

t.test('the N+1th api request from one IP is a 429 with the Hub headers; other buckets are untouched', async (t) => {
  const { s, repo } = await withRepo(t, { HUBD_RATE_LIMIT_API: '3', HUBD_RATE_LIMIT_WINDOW: '1' })
  const bob = makeUser(s, 'bob', 'write')
  const info = () => fetch(`${s.url}/api/models/${repo}`)

  const first = await burst(4, info)
  t.equal(first.ok.length, 3, 'three anonymous requests pass')
  t.equal(first.limited.length, 1, 'the fourth is refused')
  const remaining = first.ok.map((r) => PY_RATELIMIT.exec(r.headers.get('ratelimit') ?? '')?.groups?.r).sort()
  t.same(remaining, ['0', '1', '2'], 'successful answers count down RateLimit r=')
  for (const r of first.ok) {
    t.equal(r.headers.get('ratelimit-policy'), '"fixed window";"api";q=3;w=1', 'RateLimit-Policy on a success')
    t.equal(r.status, 200)
  }
  await drain(first.ok)

  const refused = first.limited[0]!
  t.equal(refused.headers.get('ratelimit'), '"api";r=0;t=1', 'RateLimit: "api";r=0;t=<seconds to reset>')
  t.equal(refused.headers.get('ratelimit-policy'), '"fixed window";"api";q=3;w=1')
  t.equal(refused.headers.get('retry-after'), '1', 'Retry-After in whole seconds (the form hub-py honours)')
  const py = PY_RATELIMIT.exec(refused.headers.get('ratelimit')!)!.groups!
  t.same([py.resource_type, py.r, py.t], ['api', '0', '1'], "hub-py's RateLimit regex reads it")
  const pol = PY_POLICY.exec(refused.headers.get('ratelimit-policy')!)!.groups!
  t.same([pol.q, pol.w], ['3', '1'], "hub-py's policy regex reads it")
  t.ok(refused.headers.get('x-request-id'), 'X-Request-Id still set')
  t.equal(refused.headers.get('access-control-allow-origin'), '*', 'CORS headers still set')
  t.match(refused.headers.get('access-control-expose-headers') ?? '', /RateLimit, RateLimit-Policy, Retry-After/, 'browsers may read the rate-limit headers')
  await expectHubError(t, refused, { status: 429, code: null, message: LIMITED }, 'refused')
  t.match(refused.headers.get('x-error-message') ?? '', /for this IP address/, 'the message tells an anonymous caller that a token helps')

  // Every limited endpoint shares the bucket: a tree listing from the same IP is refused too.
  const tree = await fetch(`${s.url}/api/models/${repo}/tree/main`)
  await expectHubError(t, tree, { status: 429, code: null, message: LIMITED }, 'tree from the same IP')

  // Another caller (a token) has its own budget, and the resolvers bucket is separate.
  const asBob = await fetch(`${s.url}/api/models/${repo}`, bearer(bob))
  t.equal(asBob.status, 200, "bob's token is unaffected by the IP's budget")
  t.equal(asBob.headers.get('ratelimit'), '"api";r=2;t=1', 'and counts from its own quota')
  await asBob.arrayBuffer()
  const file = await fetch(`${s.url}/${repo}/resolve/main/config.json`)
  t.equal(file.status, 200, 'resolve from the same IP: another bucket')
  t.equal(await file.text(), '{"a":1}')
  t.match(file.headers.get('ratelimit') ?? '', /^"resolvers";r=\d+;t=\d+$/, 'with its own RateLimit header')

  // The site admin is never limited and gets no RateLimit headers.
  for (let i = 0; i < 6; i++) {
    const r = await fetch(`${s.url}/api/models/${repo}`, bearer(s.token))
    t.equal(r.status, 200, `admin request ${i + 1}`)
    t.equal(r.headers.get('ratelimit'), null, 'no RateLimit header for the admin')
    await r.arrayBuffer()
  }
  // Unlimited endpoints stay open from the limited IP and carry no RateLimit header.
  const whoami = await fetch(`${s.url}/api/whoami-v2`, bearer(bob))
  t.equal(whoami.status, 200, 'whoami is not limited')
  t.equal(whoami.headers.get('ratelimit'), null)
  await whoami.arrayBuffer()
  const telemetry = await fetch(`${s.url}/api/telemetry/x`)
  t.equal(telemetry.status, 200, 'telemetry is not limited')
  await telemetry.arrayBuffer()

  // After the window the IP has a fresh quota.
  await sleep(1100)
  const again = await info()
  t.equal(again.status, 200, 'after the window: allowed again')
  t.equal(again.headers.get('ratelimit'), '"api";r=2;t=1', 'with a full quota')
  await again.arrayBuffer()
})

t.test('the budget is per token: one token used up leaves other tokens and anonymous callers alone', async (t) => {
  const { s, repo } = await withRepo(t, { HUBD_RATE_LIMIT_API: '2', HUBD_RATE_LIMIT_WINDOW: '1' })
  const bob = makeUser(s, 'bob', 'write')
  const carol = makeUser(s, 'carol', 'read')
  const bobRead = makeUser(s, 'bob', 'read')
  const b = await burst(3, () => fetch(`${s.url}/api/models/${repo}`, bearer(bob)))
  t.equal(b.ok.length, 2, "bob's first two pass")
  t.equal(b.limited.length, 1, "bob's third is refused")
  await drain(b.ok)
  const refusal = await expectHubError(t, b.limited[0]!, { status: 429, code: null, message: LIMITED }, 'bob refused')
  t.match(String(refusal.error), /for this token/, 'the message names the token')
  for (const [who, init] of [
    ['carol', bearer(carol)],
    ["bob's other token", bearer(bobRead)],
    ['anonymous', {}],
  ] as const) {
    const r = await fetch(`${s.url}/api/models/${repo}`, init)
    t.equal(r.status, 200, `${who} is unaffected`)
    await r.arrayBuffer()
  }
  // Writes count too: bob's commit is refused and changes nothing.
  const commit = await commitLines(s, `models/bob/none`, 'main', [headerLine(), fileLine('a.txt', 'a')], bob)
  await expectHubError(t, commit, { status: 429, code: null }, "bob's commit while limited")

  await sleep(1100)
  const after = await fetch(`${s.url}/api/models/${repo}`, bearer(bob))
  t.equal(after.status, 200, "bob's window has passed")
  await after.arrayBuffer()
})

t.test('a 429 speaks each surface’s dialect: LFS, git, HEAD on resolve', async (t) => {
  const { s, repo } = await withRepo(t, { HUBD_RATE_LIMIT_API: '1', HUBD_RATE_LIMIT_RESOLVE: '1', HUBD_RATE_LIMIT_WINDOW: '60' })
  const bob = makeUser(s, 'bob', 'write')
  const bobRepo = `bob/lfs-target`

  // LFS batch: bob's first batch passes, the second is a 429 with git-lfs's `message` key.
  const small = randomBytes(100)
  const ok = await lfsBatch(s, repo, [{ oid: sha256(small), size: small.length }]) // the admin: not counted
  t.ok(ok.objects[0]!.actions?.upload, 'the admin gets an upload action')
  const create = await fetch(`${s.url}/api/repos/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'lfs-target' }),
  })
  t.equal(create.status, 200, "bob's one api request: creating a repo")
  await create.arrayBuffer()
  const batch = await fetch(`${s.url}/${bobRepo}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid: sha256(small), size: small.length }] }),
  })
  t.equal(batch.headers.get('ratelimit'), '"api";r=0;t=60')
  await expectHubError(t, batch, { status: 429, code: null, message: LIMITED, lfs: true }, 'LFS batch')
  // The signed upload URL the admin got is not limited (it follows a batch, which is).
  t.equal((await putBytes(ok.objects[0]!.actions!.upload!.href, small)).status, 200, 'signed PUT is not limited')

  // git: text/plain, so git prints the reason as `remote: …`.
  const refs = () => fetch(`${s.url}/${repo}.git/info/refs?service=git-upload-pack`)
  const first = await refs()
  t.not(first.status, 429, 'the first git request from this IP passes')
  t.ok(first.headers.get('ratelimit'), 'and carries RateLimit')
  await first.arrayBuffer()
  const second = await refs()
  t.equal(second.status, 429, 'the second is refused')
  t.match(second.headers.get('content-type') ?? '', /^text\/plain/, 'in text/plain for git')
  t.match(await second.text(), LIMITED)
  t.equal(second.headers.get('retry-after'), '60')

  // HEAD on resolve: the message travels in X-Error-Message only.
  const head = () => fetch(`${s.url}/${repo}/resolve/main/config.json`, { method: 'HEAD' })
  const h1 = await head()
  t.equal(h1.status, 200)
  t.equal(h1.headers.get('ratelimit'), '"resolvers";r=0;t=60')
  t.equal(h1.headers.get('ratelimit-policy'), '"fixed window";"resolvers";q=1;w=60')
  const h2 = await head()
  t.equal(h2.headers.get('ratelimit'), '"resolvers";r=0;t=60')
  t.equal(h2.headers.get('retry-after'), '60')
  await expectHeadError(t, h2, { status: 429, code: null, message: LIMITED }, 'HEAD resolve')
  const raw = await fetch(`${s.url}/${repo}/raw/main/config.json`)
  await expectHubError(t, raw, { status: 429, code: null, message: LIMITED }, 'raw shares the resolvers bucket')
})

t.test('@huggingface/hub surfaces the 429 as a HubApiError with the reason', async (t) => {
  const { s, repo } = await withRepo(t, { HUBD_RATE_LIMIT_API: '1', HUBD_RATE_LIMIT_WINDOW: '60' })
  const bob = makeUser(s, 'bob', 'write')
  const common = { hubUrl: s.url, accessToken: bob }
  const info = await modelInfo({ ...common, name: repo })
  t.equal(info.name, repo, 'the first call passes')
  const err = await modelInfo({ ...common, name: repo }).then(
    () => null,
    (e: unknown) => e,
  )
  t.ok(err instanceof HubApiError, 'a HubApiError')
  const e = err as HubApiError
  t.equal(e.statusCode, 429)
  t.match(e.message, /^Rate limit reached: 1 "api" requests per 60 seconds for this token\. Retry in \d+ seconds\./)
  t.match(e.message, /URL: /, 'followed by the URL, as hub-js reports every error')
})

t.test('a quota of 0 switches its bucket off', async (t) => {
  const { s, repo } = await withRepo(t, { HUBD_RATE_LIMIT_API: '0', HUBD_RATE_LIMIT_RESOLVE: '2', HUBD_RATE_LIMIT_WINDOW: '60' })
  const api = await burst(20, () => fetch(`${s.url}/api/models/${repo}`))
  t.equal(api.ok.length, 20, 'every api request passes')
  t.ok(api.ok.every((r) => r.headers.get('ratelimit') === null), 'without RateLimit headers')
  await drain(api.ok)
  const files = await burst(3, () => fetch(`${s.url}/${repo}/resolve/main/config.json`))
  t.equal(files.ok.length, 2, 'the resolvers bucket still applies')
  t.equal(files.limited.length, 1)
  await drain([...files.ok, ...files.limited])
})

t.test('configuration', async (t) => {
  const base = { HUBD_DATA_DIR: '/tmp/unused' }
  const d = loadConfig(base)
  t.same([d.rateLimitApi, d.rateLimitResolve, d.rateLimitWindow], [1000, 5000, 300], 'defaults: the Hub’s free-account budgets per 5 minutes')
  const c = loadConfig({ ...base, HUBD_RATE_LIMIT_API: '0', HUBD_RATE_LIMIT_RESOLVE: '7', HUBD_RATE_LIMIT_WINDOW: '1' })
  t.same([c.rateLimitApi, c.rateLimitResolve, c.rateLimitWindow], [0, 7, 1])
  for (const [name, value] of [
    ['HUBD_RATE_LIMIT_API', '-1'],
    ['HUBD_RATE_LIMIT_API', 'lots'],
    ['HUBD_RATE_LIMIT_RESOLVE', '1.5'],
    ['HUBD_RATE_LIMIT_WINDOW', '0'],
    ['HUBD_RATE_LIMIT_WINDOW', '86401'],
  ] as const) {
    t.throws(() => loadConfig({ ...base, [name]: value }), ConfigError, `${name}=${value} is refused`)
    try {
      loadConfig({ ...base, [name]: value })
    } catch (err) {
      t.match((err as Error).message, name, 'the message names the variable')
    }
  }
})

t.test('the check costs well under 5 µs', async (t) => {
  const limiter = new FixedWindowLimiter('api', 1_000_000_000, 300)
  const headers: Record<string, string> = {}
  const reply = { header: (k: string, v: string) => ((headers[k] = v), reply) } as unknown as FastifyReply
  const token = { id: 'tok-1' }
  const requests = [
    { actor: ANONYMOUS, ip: '127.0.0.1' },
    { actor: { ...ANONYMOUS, user: { is_admin: 0 }, token }, ip: '127.0.0.1' },
  ] as unknown as FastifyRequest[]
  const n = 200_000
  for (let i = 0; i < 10_000; i++) limiter.check(requests[i & 1]!, reply)
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) limiter.check(requests[i & 1]!, reply)
  const perCall = Number(process.hrtime.bigint() - start) / n
  t.comment(`${perCall.toFixed(0)} ns per check`)
  t.ok(perCall < 5000, `one check: ${perCall.toFixed(0)} ns`)
  t.match(headers.RateLimit, /^"api";r=\d+;t=300$/)
})
