/**
 * Issue 5's access matrix: every endpoint family × every kind of caller × public and private repos
 * in a user's and an org's namespace, each answer compared with an independent reading of the
 * rules (./rules.ts). Mutations run on throwaway branches, tags and repos, and a refused mutation
 * must leave things as they were.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { gitClient, scratchDir, tokenUrl } from '../helpers/git.js'
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server.js'
import { b64, sha256 } from '../helpers/error-helpers.js'
import { addMember, adminCall, createRepoWith, createToken, createUser } from '../helpers/accounts.js'
import { adminJson, asAdmin, file, header, headers, mainHead, Matrix, ndjson, pool, refNames, setup, type Fixture, type World } from './matrix-world.js'
import { canRead, expected, type ActorSpec, type Dialect, type Expected, type Need, type RepoSpec } from './rules.js'

/**
 * @NOTE: the design doc lists preupload and LFS batch upload under "write", but also lets a reader
 * with a write token open a PR, which needs both first (hub-py preuploads and uploads LFS files
 * before the create_pr commit). The implementation treats them as part of opening a PR; so does this.
 */
const UPLOAD_NEED: Need = 'contribute'
const MIN_CELLS = 1500

const noGit = spawnSync('git', ['--version'], { stdio: 'ignore' }).status !== 0
const GIT_SKIP = noGit ? 'git is not installed: apt-get install -y git' : false

let s!: TestServer
let world!: World
const m = new Matrix()

t.test('access matrix', async (top) => {
  s = await startServer(top)
  world = await setup(top, s)
  const wait = world.expiredAt + 300 - Date.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))

  type ReadFamily = [family: string, send: (a: ActorSpec, r: Fixture) => Promise<Response>, dialect?: Dialect, verify?: (res: Response, r: Fixture) => Promise<void>]

  top.test('reads: info, tree, paths-info, resolve, raw, refs, commits, discussions, LFS download, git info/refs, Xet read tokens', async (t) => {
    const u = s.url
    const families: ReadFamily[] = [
      ['info', (a, r) => fetch(`${u}${r.api}`, { headers: headers(a) })],
      ['info at a revision', (a, r) => fetch(`${u}${r.api}/revision/dev`, { headers: headers(a) })],
      ['tree', (a, r) => fetch(`${u}${r.api}/tree/main`, { headers: headers(a) })],
      [
        'paths-info',
        (a, r) =>
          fetch(`${u}${r.api}/paths-info/main`, {
            method: 'POST',
            headers: headers(a, { 'content-type': 'application/json' }),
            body: JSON.stringify({ paths: ['README.md', 'own.bin'] }),
          }),
      ],
      [
        'resolve',
        (a, r) => fetch(`${u}${r.files}/resolve/main/README.md`, { headers: headers(a) }),
        'api',
        async (res, r) => void t.equal(await res.text(), `# ${r.id}\n`, `resolve ${r.id} body`),
      ],
      [
        'resolve LFS',
        (a, r) => fetch(`${u}${r.files}/resolve/v1/own.bin`, { headers: headers(a) }),
        'api',
        async (res, r) => void t.equal(sha256(Buffer.from(await res.arrayBuffer())), r.ownOid, `resolve ${r.id} own.bin bytes`),
      ],
      ['HEAD resolve', (a, r) => fetch(`${u}${r.files}/resolve/main/README.md`, { method: 'HEAD', headers: headers(a) })],
      ['raw', (a, r) => fetch(`${u}${r.files}/raw/main/README.md`, { headers: headers(a) })],
      ['refs', (a, r) => fetch(`${u}${r.api}/refs`, { headers: headers(a) })],
      ['commits', (a, r) => fetch(`${u}${r.api}/commits/main`, { headers: headers(a) })],
      [
        'LFS batch download',
        (a, r) =>
          fetch(`${u}${r.files}.git/info/lfs/objects/batch`, {
            method: 'POST',
            headers: headers(a, { 'content-type': 'application/vnd.git-lfs+json', accept: 'application/vnd.git-lfs+json' }),
            body: JSON.stringify({ operation: 'download', transfers: ['basic'], objects: [{ oid: r.ownOid, size: r.own.length }] }),
          }),
        'git',
        async (res, r) => {
          // The object URL of an authorised batch answer serves the bytes, with no other credential.
          const answer = (await res.json()) as { objects: { actions?: { download?: { href: string } } }[] }
          const href = answer.objects[0]?.actions?.download?.href
          if (!t.ok(href, `${r.id}: a download href`) || !href) return
          const obj = await fetch(href)
          m.n++
          t.equal(obj.status, 200, `${r.id}: the LFS object URL answers 200`)
          t.equal(sha256(Buffer.from(await obj.arrayBuffer())), r.ownOid, `${r.id}: the LFS object bytes`)
        },
      ],
      ['git info/refs (upload-pack)', (a, r) => fetch(`${u}${r.files}.git/info/refs?service=git-upload-pack`, { headers: headers(a) }), 'git'],
      ['discussions list', (a, r) => fetch(`${u}${r.api}/discussions`, { headers: headers(a) })],
      // A Xet read token opens the repo's files on the CAS side: same rule as any read.
      ['xet-read-token', (a, r) => fetch(`${u}${r.api}/xet-read-token/main`, { headers: headers(a) })],
      // What git sends once challenged: Basic with the token as the password.
      [
        'git info/refs (upload-pack, Basic)',
        (a, r) =>
          fetch(`${u}${r.files}/info/refs?service=git-upload-pack`, {
            headers: a.token === null ? {} : { authorization: `Basic ${b64(`user:${a.token}`)}` },
          }),
        'git',
      ],
    ]
    const cells = families.flatMap((f) => world.actors.flatMap((a) => world.repos.map((r) => [f, a, r] as const)))
    await pool(cells, 6, async ([[family, send, dialect, verify], a, r]) => {
      const res = await send(a, r)
      const exp = expected(a, 'read', r, { dialect: dialect ?? 'api' })
      const ok = await m.check(t, `${family} ${r.kind} as ${a.label}`, res, exp, dialect, family.startsWith('HEAD'))
      if (ok && res.status === 200 && verify) await verify(res, r)
      else if (res.status < 400) await res.arrayBuffer()
    })
  })

  top.test('listings: private repos appear only to those who may read them', async (t) => {
    for (const a of world.actors) {
      for (const [ns, type] of [
        ['owner', 'model'],
        ['team', 'model'],
        ['team', 'dataset'],
      ] as const) {
        const queries = [`author=${ns}`, `search=${ns}/`]
        for (const q of queries) {
          const res = await fetch(`${s.url}/api/${type}s?${q}&limit=100`, { headers: headers(a) })
          const targets = world.repos.filter((r) => r.namespace === ns && r.type === type)
          if (a.bad) {
            await m.check(t, `list ${type}s ${q} as ${a.label}`, res, { status: 401, code: null, invalidCredentials: true })
            // The same on a URL no one asked for before (no cached page to answer from).
            const fresh = await fetch(`${s.url}/api/${type}s?${q}&limit=${7 + world.actors.indexOf(a)}`, { headers: headers(a) })
            await m.check(t, `list ${type}s ${q} (a URL not asked before) as ${a.label}`, fresh, { status: 401, code: null, invalidCredentials: true })
            continue
          }
          if (!t.equal(res.status, 200, `list ${type}s ${q} as ${a.label}`)) continue
          const ids = ((await res.json()) as { id: string }[]).map((x) => x.id)
          for (const r of targets) m.checkBool(t, `${r.id} in ?${q} for ${a.label}`, ids.includes(r.id), canRead(a, r))
        }
      }
    }
  })

  /** Cells whose success changes something: each checks the change happened exactly when allowed. */
  top.test('writes: preupload, LFS upload, Xet write tokens, commit, PRs (open, comment, merge), super-squash, branches, tags, git receive-pack', async (t) => {
    const u = s.url
    for (const r of world.models) {
      for (const a of world.actors) {
        const who = `${r.kind} as ${a.label}`
        const json = (body: unknown) => ({ headers: headers(a, { 'content-type': 'application/json' }), body: JSON.stringify(body) })
        const headBefore = await mainHead(s, r.id)

        let res = await fetch(`${u}/api/models/${r.id}/preupload/main`, {
          method: 'POST',
          ...json({ files: [{ path: 'new.txt', size: 2, sample: b64('hi') }] }),
        })
        await m.check(t, `preupload ${who}`, res, expected(a, UPLOAD_NEED, r))

        // LFS upload: the batch, then (when it was allowed) the object URL it hands out.
        const data = Buffer.from(`LFS object of ${r.id} uploaded by ${a.label}`)
        res = await fetch(`${u}/${r.id}.git/info/lfs/objects/batch`, {
          method: 'POST',
          headers: headers(a, { 'content-type': 'application/vnd.git-lfs+json' }),
          body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid: sha256(data), size: data.length }] }),
        })
        if ((await m.check(t, `LFS batch upload ${who}`, res, expected(a, UPLOAD_NEED, r, { dialect: 'git' }), 'git')) && res.status === 200) {
          const answer = (await res.json()) as { objects: { actions?: { upload?: { href: string } } }[] }
          const href = answer.objects[0]?.actions?.upload?.href
          if (t.ok(href, `LFS batch upload ${who}: an upload href`) && href) {
            const put = await fetch(href, { method: 'PUT', body: new Uint8Array(data) })
            m.n++
            t.equal(put.status, 200, `LFS object upload URL ${who}: 200`)
            await put.arrayBuffer()
          }
        }

        // Xet write tokens: for a branch they need write; for a new PR (py sends rev `None`) only contribute.
        res = await fetch(`${u}/api/models/${r.id}/xet-write-token/main`, { headers: headers(a) })
        await m.check(t, `xet-write-token ${who}`, res, expected(a, 'write', r))
        res = await fetch(`${u}/api/models/${r.id}/xet-write-token/None?create_pr=1`, { headers: headers(a) })
        await m.check(t, `xet-write-token for a new PR ${who}`, res, expected(a, 'contribute', r))

        res = await fetch(`${u}/${r.id}.git/info/refs?service=git-receive-pack`, { headers: headers(a) })
        await m.check(t, `git info/refs (receive-pack) ${who}`, res, expected(a, 'write', r, { dialect: 'git' }), 'git')

        // A commit to main: moves main exactly when allowed.
        const commitExp = expected(a, 'write', r)
        res = await fetch(`${u}/api/models/${r.id}/commit/main`, {
          method: 'POST',
          headers: headers(a, { 'content-type': 'application/x-ndjson' }),
          body: ndjson([header(`cell ${a.label}`), file(`cells/${a.label}.txt`, a.label)]),
        })
        await m.check(t, `commit ${who}`, res, commitExp)
        const headAfter = await mainHead(s, r.id)
        if (commitExp.status === 200) t.not(headAfter, headBefore, `commit ${who}: main moved`)
        else t.equal(headAfter, headBefore, `commit ${who}: main unchanged`)

        // Opening a PR (commit with create_pr=1): never moves main.
        res = await fetch(`${u}/api/models/${r.id}/commit/main?create_pr=1`, {
          method: 'POST',
          headers: headers(a, { 'content-type': 'application/x-ndjson' }),
          body: ndjson([header(`pr ${a.label}`), file(`pr/${a.label}.txt`, a.label)]),
        })
        await m.check(t, `commit create_pr=1 ${who}`, res, expected(a, 'contribute', r))
        res = await fetch(`${u}/api/models/${r.id}/discussions`, { method: 'POST', ...json({ title: `pr by ${a.label}`, description: '', pullRequest: true }) })
        await m.check(t, `open a PR (discussions) ${who}`, res, expected(a, 'contribute', r))
        t.equal(await mainHead(s, r.id), headAfter, `PRs ${who}: main unchanged`)

        // A PR with a file, opened by the site admin: read it, comment on it (contribute), merge it (write).
        const wexp = expected(a, 'write', r)
        const allowed = wexp.status === 200
        const pr = await adminJson<{ pullRequestUrl?: string }>(s, `/api/models/${r.id}/commit/main?create_pr=1`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: ndjson([header(`to merge by ${a.label}`), file(`merge/${a.label}.txt`, a.label)]),
        })
        const num = /\/discussions\/(\d+)$/.exec(pr.pullRequestUrl ?? '')?.[1]
        if (!t.ok(num, `a PR number in ${pr.pullRequestUrl}`)) continue
        res = await fetch(`${u}/api/models/${r.id}/discussions/${num}`, { headers: headers(a) })
        await m.check(t, `read a PR ${who}`, res, expected(a, 'read', r))
        res = await fetch(`${u}/api/models/${r.id}/discussions/${num}/comment`, { method: 'POST', ...json({ comment: `from ${a.label}` }) })
        await m.check(t, `comment on a PR ${who}`, res, expected(a, 'contribute', r))
        res = await fetch(`${u}/api/models/${r.id}/discussions/${num}/merge`, { method: 'POST', ...json({}) })
        await m.check(t, `merge a PR ${who}`, res, wexp)
        const merged = await mainHead(s, r.id)
        if (allowed) t.not(merged, headAfter, `merge ${who}: main moved`)
        else t.equal(merged, headAfter, `merge ${who}: main unchanged`)

        // Super-squash (write) of the branch this actor may delete next.
        const delBranch = `/api/models/${r.id}/revision/del-${a.label}`
        const squashBefore = (await adminJson<{ sha: string }>(s, delBranch)).sha
        res = await fetch(`${u}/api/models/${r.id}/super-squash/del-${a.label}`, { method: 'POST', ...json({ message: 'squash' }) })
        await m.check(t, `super-squash ${who}`, res, wexp)
        const squashAfter = (await adminJson<{ sha: string }>(s, delBranch)).sha
        t.equal(squashAfter !== squashBefore, allowed, `super-squash ${who}: the branch was rewritten only if allowed`)

        // Branches and tags.
        const before = await refNames(s, r.id)
        res = await fetch(`${u}/api/models/${r.id}/branch/new-${a.label}`, { method: 'POST', ...json({}) })
        await m.check(t, `create branch ${who}`, res, wexp)
        res = await fetch(`${u}/api/models/${r.id}/branch/del-${a.label}`, { method: 'DELETE', headers: headers(a) })
        await m.check(t, `delete branch ${who}`, res, wexp)
        res = await fetch(`${u}/api/models/${r.id}/tag/main`, { method: 'POST', ...json({ tag: `new-${a.label}` }) })
        await m.check(t, `create tag ${who}`, res, wexp)
        res = await fetch(`${u}/api/models/${r.id}/tag/del-${a.label}`, { method: 'DELETE', headers: headers(a) })
        await m.check(t, `delete tag ${who}`, res, wexp)
        const after = await refNames(s, r.id)
        t.equal(after.branches.includes(`new-${a.label}`), allowed, `${who}: branch created only if allowed`)
        t.equal(after.branches.includes(`del-${a.label}`), !allowed, `${who}: branch deleted only if allowed`)
        t.equal(after.tags.includes(`new-${a.label}`), allowed, `${who}: tag created only if allowed`)
        t.equal(after.tags.includes(`del-${a.label}`), !allowed, `${who}: tag deleted only if allowed`)
        t.ok(after.branches.includes('dev') && after.tags.includes('v1'), `${who}: fixtures intact`)
        if (!allowed) t.same(after, before, `${who}: refs unchanged`)
      }
    }
  })

  top.test('create a repo: needs a write token and write rank in the namespace', async (t) => {
    for (const a of world.actors) {
      for (const r of world.models) {
        const name = `cr-${a.label}-${r.private ? 'priv' : 'pub'}`
        const res = await fetch(`${s.url}/api/repos/create`, {
          method: 'POST',
          headers: headers(a, { 'content-type': 'application/json' }),
          body: JSON.stringify({ name, organization: r.namespace, private: r.private }),
        })
        const exp = expected(a, 'create', r)
        await m.check(t, `create ${r.namespace}/${name} as ${a.label}`, res, exp)
        const exists = (await asAdmin(s, `/api/models/${r.namespace}/${name}`)).status === 200
        t.equal(exists, exp.status === 200, `${r.namespace}/${name}: exists only if allowed`)
      }
    }
  })

  top.test('settings, move and delete: admin rank and a write token, on throwaway repos', async (t) => {
    const u = s.url
    for (const a of world.actors) {
      for (const r of world.models) {
        const name = `adm-${a.label}-${r.private ? 'priv' : 'pub'}`
        const id = await createRepoWith(u, ADMIN_TOKEN, r.namespace, name, r.private)
        const spec: RepoSpec = { namespace: r.namespace, name, private: r.private }
        const who = `${r.kind} as ${a.label}`
        const json = (body: unknown) => ({ headers: headers(a, { 'content-type': 'application/json' }), body: JSON.stringify(body) })

        // Settings: flip the visibility; a refused call leaves it.
        const sexp = expected(a, 'admin', spec)
        let res = await fetch(`${u}/api/models/${id}/settings`, { method: 'PUT', ...json({ private: !r.private }) })
        await m.check(t, `settings ${who}`, res, sexp)
        const info = await adminJson<{ private: boolean }>(s, `/api/models/${id}`)
        t.equal(info.private, sexp.status === 200 ? !r.private : r.private, `settings ${who}: visibility changed only if allowed`)
        spec.private = info.private

        const mexp = expected(a, 'admin', spec)
        res = await fetch(`${u}/api/repos/move`, { method: 'POST', ...json({ fromRepo: id, toRepo: `${id}-mv`, type: 'model' }) })
        await m.check(t, `move ${who}`, res, mexp)
        const moved = mexp.status === 200
        t.equal((await asAdmin(s, `/api/models/${id}-mv`)).status, moved ? 200 : 404, `move ${who}: new id exists only if allowed`)
        if (!moved) t.equal((await asAdmin(s, `/api/models/${id}`)).status, 200, `move ${who}: still at the old id`)
        else {
          // The old id redirects only callers who may read the repo: to others it is a missing repo.
          for (const viewer of world.actors.filter((v) => !v.bad)) {
            const old = await fetch(`${u}/api/models/${id}`, { headers: headers(viewer), redirect: 'manual' })
            const want: Expected = canRead(viewer, spec) ? { status: 307 } : { status: 404, code: 'RepoNotFound' }
            await m.check(t, `old id after a move (${who}) as ${viewer.label}`, old, want)
            t.notOk(want.status === 404 && (old.headers.get('location') ?? '').includes('-mv'), `old id (${who}) as ${viewer.label}: the new name does not leak`)
          }
        }
        const current = moved ? `${id}-mv` : id
        spec.name = current.split('/')[1]!

        const dexp = expected(a, 'admin', spec)
        res = await fetch(`${u}/api/repos/delete`, { method: 'DELETE', ...json({ name: spec.name, organization: r.namespace, type: 'model' }) })
        await m.check(t, `delete ${who}`, res, dexp)
        t.equal((await asAdmin(s, `/api/models/${current}`)).status, dexp.status === 200 ? 404 : 200, `delete ${who}: gone only if allowed`)
      }
    }
  })

  top.test('whoami-v2 and the admin API per caller', async (t) => {
    for (const a of world.actors) {
      const res = await fetch(`${s.url}/api/whoami-v2`, { headers: headers(a) })
      const exp: Expected = a.bad ? { status: 401, code: null, invalidCredentials: true } : a.user === null ? { status: 401, code: null } : { status: 200 }
      if ((await m.check(t, `whoami as ${a.label}`, res, exp)) && res.status === 200) {
        const body = (await res.json()) as { name: string; auth: { accessToken: { role: string } } }
        t.equal(body.name, a.user, `whoami name for ${a.label}`)
        t.equal(body.auth.accessToken.role, a.tokenRole, `whoami token role for ${a.label}`)
      }
      const adminExp: Expected = a.bad
        ? { status: 401, code: null, invalidCredentials: true }
        : a.user === null
          ? { status: 401, code: null }
          : a.siteAdmin
            ? { status: 200 }
            : { status: 403, code: null }
      const list = await fetch(`${s.url}/api/admin/users`, { headers: headers(a) })
      await m.check(t, `GET /api/admin/users as ${a.label}`, list, adminExp)
      if (list.status === 200) await list.arrayBuffer()
      const make = await fetch(`${s.url}/api/admin/users`, {
        method: 'POST',
        headers: headers(a, { 'content-type': 'application/json' }),
        body: JSON.stringify({ name: `made-by-${a.label}` }),
      })
      await m.check(t, `POST /api/admin/users as ${a.label}`, make, adminExp)
      if (make.status === 200) await make.arrayBuffer()
      const tokenFor = await fetch(`${s.url}/api/admin/tokens`, {
        method: 'POST',
        headers: headers(a, { 'content-type': 'application/json' }),
        body: JSON.stringify({ user: 'owner', role: 'write' }),
      })
      await m.check(t, `POST /api/admin/tokens as ${a.label}`, tokenFor, adminExp)
      if (tokenFor.status === 200) await tokenFor.arrayBuffer()
    }
    const users = await adminJson<{ name: string }[]>(s, '/api/admin/users')
    t.same(
      users.map((x) => x.name).filter((n) => n.startsWith('made-by-')),
      ['made-by-site-admin'],
      'only the site admin created a user',
    )
  })

  top.test('signed LFS object URLs: bound to repo, oid, size and time', async (t) => {
    const priv = world.models.find((r) => r.kind === 'owner/private')!
    const other = world.models.find((r) => r.kind === 'team/private')!
    const batch = async (r: Fixture, objects: { oid: string; size: number }[], operation = 'download') => {
      const res = await asAdmin(s, `/${r.id}.git/info/lfs/objects/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.git-lfs+json' },
        body: JSON.stringify({ operation, transfers: ['basic'], objects }),
      })
      t.equal(res.status, 200, `batch ${operation} ${r.id}`)
      const answer = (await res.json()) as { objects: { actions?: Record<string, { href: string }> }[] }
      return answer.objects.map((o) => o.actions?.[operation === 'download' ? 'download' : 'upload']?.href ?? '')
    }
    const [ownHref, sharedHref] = await batch(priv, [
      { oid: priv.ownOid, size: priv.own.length },
      { oid: priv.sharedOid, size: world.shared.length },
    ])
    if (!ownHref || !sharedHref) return t.fail('no download hrefs')
    const refused = async (label: string, href: string, init: RequestInit = {}, statuses = [403]) => {
      const res = await fetch(href, init)
      m.n++
      t.ok(statuses.includes(res.status), `${label}: ${statuses.join(' or ')} (got ${res.status})`)
      const body = (await res.json().catch(() => ({}))) as { message?: unknown }
      t.type(body.message, 'string', `${label}: LFS {message} body`)
    }
    t.equal((await fetch(ownHref)).status, 200, 'the untouched URL works without any token')
    const tamper = (href: string, f: (u: URL) => void) => {
      const u = new URL(href)
      f(u)
      return u.toString()
    }
    const flip = (sig: string) => (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)
    await refused('tampered signature', tamper(ownHref, (u) => u.searchParams.set('sig', flip(u.searchParams.get('sig') ?? ''))))
    // No signature at all fails the query schema (400) before any signature check: refused either way.
    await refused('no signature', tamper(ownHref, (u) => u.searchParams.delete('sig')), {}, [400, 403])
    await refused('later expiry', tamper(ownHref, (u) => u.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3600))))
    await refused('another size', tamper(ownHref, (u) => u.searchParams.set('size', String(priv.own.length - 1))))
    // Another oid with the same signature (the shared object, whose size is put in too).
    await refused(
      'replayed for another oid',
      tamper(ownHref, (u) => {
        u.pathname = u.pathname.replace(priv.ownOid, priv.sharedOid)
        u.searchParams.set('size', String(world.shared.length))
      }),
    )
    // The same object is also stored in another private repo: the URL must not open it there.
    const [otherShared] = await batch(other, [{ oid: other.sharedOid, size: world.shared.length }])
    const otherRepoParam = new URL(otherShared ?? ownHref).searchParams.get('repo')
    t.ok(otherRepoParam && otherRepoParam !== new URL(sharedHref).searchParams.get('repo'), 'each URL names its own repo')
    t.equal((await fetch(otherShared ?? '')).status, 200, "the other repo's own URL works")
    await refused(
      'replayed for another repo',
      tamper(sharedHref, (u) => u.searchParams.set('repo', otherRepoParam ?? other.id)),
    )
    // Expired: move the clock of this process (the server's too) past the URL's lifetime.
    const realNow = Date.now
    Date.now = () => realNow() + 2 * 24 * 3600 * 1000
    try {
      await refused('expired', ownHref)
    } finally {
      Date.now = realNow
    }
    // Upload URLs: bound to their oid too.
    const data = randomBytes(64)
    const [uploadHref] = await batch(priv, [{ oid: sha256(data), size: data.length }], 'upload')
    if (!uploadHref) return t.fail('no upload href')
    const otherData = randomBytes(64)
    await refused('upload URL replayed for another oid', uploadHref.replace(sha256(data), sha256(otherData)), { method: 'PUT', body: new Uint8Array(otherData) })
    await refused('upload URL for another repo', tamper(uploadHref, (u) => u.searchParams.set('repo', otherRepoParam ?? other.id)), {
      method: 'PUT',
      body: new Uint8Array(data),
    })
  })

  top.test('git clone and push with the real git CLI', { skip: GIT_SKIP }, async (t) => {
    const { git } = await gitClient(t)
    const dir = scratchDir(t)
    const urlFor = (a: ActorSpec, r: Fixture) => (a.token === null ? `${s.url}/${r.id}` : tokenUrl(s, r.id, a.token))
    // One working copy per repo with a new commit, pushed by each actor to a branch of its own.
    for (const r of world.models) {
      const w = path.join(dir, `src-${r.namespace}-${r.name}`)
      await git(['clone', '-q', tokenUrl(s, r.id, ADMIN_TOKEN), w])
      fs.writeFileSync(path.join(w, 'pushed.txt'), `pushed to ${r.id}\n`)
      await git(['add', 'pushed.txt'], { cwd: w })
      await git(['commit', '-q', '-m', 'push cell'], { cwd: w })
    }
    const heads = new Map<string, string>()
    for (const r of world.models) heads.set(r.id, await mainHead(s, r.id))
    // Bad tokens: the revoked one stands for all three here (the Basic info/refs family covers each).
    const gitActors = world.actors.filter((a) => !a.bad || a.label === 'revoked')
    const cells = gitActors.flatMap((a) => world.models.map((r) => [a, r] as const))
    const pushed = new Map<string, boolean>()
    await pool(cells, 3, async ([a, r]) => {
      const who = `${r.kind} as ${a.label}`
      const target = path.join(dir, `clone-${r.namespace}-${r.name}-${a.label}`)
      const clone = await git(['clone', '-q', urlFor(a, r), target], { allowFail: true })
      // @NOTE: git sends the credentials of the URL only after a 401 challenge, so a bad token
      // clones a public repo like an anonymous caller would (the server never sees the token).
      const asGit = a.bad ? world.actors[0]! : a
      const canClone = expected(asGit, 'read', r, { dialect: 'git' }).status === 200
      m.checkBool(t, `git clone ${who}`, clone.code === 0, canClone, clone.stderr.trim().split('\n').pop() ?? '')
      if (clone.code === 0) t.equal(fs.readFileSync(path.join(target, 'README.md'), 'utf8'), `# ${r.id}\n`, `git clone ${who}: README`)
      const w = path.join(dir, `src-${r.namespace}-${r.name}`)
      const push = await git(['push', '-q', urlFor(a, r), `HEAD:refs/heads/push-${a.label}`], { cwd: w, allowFail: true })
      const canPush = expected(a, 'write', r, { dialect: 'git' }).status === 200
      m.checkBool(t, `git push ${who}`, push.code === 0, canPush, push.stderr.trim().split('\n').pop() ?? '')
      const pushExp = expected(a, 'write', r, { dialect: 'git' })
      if (!canPush && pushExp.status === 403) t.match(push.stderr, '403', `git push ${who}: git reports the 403`)
      pushed.set(`${r.id} ${a.label}`, canPush)
    })
    for (const r of world.models) {
      const refs = await refNames(s, r.id)
      for (const a of gitActors) {
        t.equal(refs.branches.includes(`push-${a.label}`), pushed.get(`${r.id} ${a.label}`), `${r.kind}: push-${a.label} exists only if allowed`)
      }
      t.equal(await mainHead(s, r.id), heads.get(r.id), `${r.kind}: main unchanged by the pushes`)
    }
  })

  top.test('membership, visibility and account changes apply at once', async (t) => {
    const u = s.url
    const mwriter = world.actors.find((a) => a.label === 'mwriter')!
    const anon = world.actors[0]!
    const id = await createRepoWith(u, ADMIN_TOKEN, 'team', 'live-model', true)
    const commit = (a: ActorSpec, n: string) =>
      fetch(`${u}/api/models/${id}/commit/main`, {
        method: 'POST',
        headers: headers(a, { 'content-type': 'application/x-ndjson' }),
        body: ndjson([header(n), file(`${n}.txt`, n)]),
      })
    const listed = async (a: ActorSpec) => {
      // The same URL every time: a page cached before a change must not answer after it.
      const res = await fetch(`${u}/api/models?author=team&limit=100`, { headers: headers(a) })
      return ((await res.json()) as { id: string }[]).some((x) => x.id === id)
    }
    const info = (a: ActorSpec) => fetch(`${u}/api/models/${id}`, { headers: headers(a) })
    try {
      await m.check(t, 'write member commits', await commit(mwriter, 'one'), { status: 200 })
      m.checkBool(t, 'a member: the private repo is listed', await listed(mwriter), true)
      await addMember(u, 'team', 'mwriter', 'read')
      const head = await mainHead(s, id)
      await m.check(t, 'demoted to read: commit refused', await commit(mwriter, 'two'), { status: 403, code: null })
      t.equal(await mainHead(s, id), head, 'main unchanged')
      await m.check(t, 'demoted to read: still reads the private repo', await info(mwriter), { status: 200 })
      await adminCall(u, 'DELETE', '/api/admin/orgs/team/members/mwriter')
      await m.check(t, 'removed from the org: private repo is missing', await info(mwriter), { status: 404, code: 'RepoNotFound' })
      m.checkBool(t, 'removed from the org: not listed', await listed(mwriter), false)
      await m.check(t, 'removed from the org: commit is a missing repo', await commit(mwriter, 'three'), { status: 404, code: 'RepoNotFound' })
    } finally {
      await addMember(u, 'team', 'mwriter', 'write')
    }
    await m.check(t, 'back as a write member: commit works', await commit(mwriter, 'four'), { status: 200 })

    // Visibility: listings and reads follow a settings change at once (no stale cached page).
    m.checkBool(t, 'private: not listed anonymously', await listed(anon), false)
    t.equal((await fetch(`${u}/api/models?author=team`)).status, 200, 'an anonymous listing (cached afterwards)')
    await adminJson(s, `/api/models/${id}/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ private: false }) })
    await m.check(t, 'made public: anonymous reads it', await info(anon), { status: 200 })
    const after = (await (await fetch(`${u}/api/models?author=team`)).json()) as { id: string }[]
    m.checkBool(t, 'made public: in the anonymous listing (same URL as before)', after.some((x) => x.id === id), true)
    await adminJson(s, `/api/models/${id}/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ private: true }) })
    await m.check(t, 'private again: anonymous gets RepoNotFound', await info(anon), { status: 404, code: 'RepoNotFound' })
    const again = (await (await fetch(`${u}/api/models?author=team`)).json()) as { id: string }[]
    m.checkBool(t, 'private again: gone from the anonymous listing', again.some((x) => x.id === id), false)

    // A deleted user's tokens die with it.
    await createUser(u, 'shortlived')
    const tok = (await createToken(u, 'shortlived', 'write')).token
    const who = () => fetch(`${u}/api/whoami-v2`, { headers: { authorization: `Bearer ${tok}` } })
    t.equal((await who()).status, 200, 'the token works while its user exists')
    await adminCall(u, 'DELETE', '/api/admin/users/shortlived')
    await m.check(t, "a deleted user's token", await who(), { status: 401, code: null, invalidCredentials: true })
  })

  top.test('HUBD_ANONYMOUS_READ=false: anonymous reads are 401, token reads still work', async (t) => {
    const s2 = await startServer(t, { HUBD_ANONYMOUS_READ: 'false' })
    await createUser(s2.url, 'carol')
    await createUser(s2.url, 'dave')
    const carol = (await createToken(s2.url, 'carol', 'read')).token
    const dave = (await createToken(s2.url, 'dave', 'write')).token
    const id = await createRepoWith(s2.url, ADMIN_TOKEN, 'carol', 'open', false)
    await createRepoWith(s2.url, ADMIN_TOKEN, 'carol', 'closed', true)
    const anon = { label: 'anonymous', token: null, user: null, tokenRole: null, bad: false, siteAdmin: false, orgs: {} } satisfies ActorSpec
    const actors: ActorSpec[] = [
      anon,
      { ...anon, label: 'carol-read', token: carol, user: 'carol', tokenRole: 'read' },
      { ...anon, label: 'dave-write', token: dave, user: 'dave', tokenRole: 'write' },
      { ...anon, label: 'unknown-token', token: 'hf_neverIssuedToThisServer0123456789', bad: true },
    ]
    for (const repo of [
      { namespace: 'carol', name: 'open', private: false },
      { namespace: 'carol', name: 'closed', private: true },
    ]) {
      const rid = `${repo.namespace}/${repo.name}`
      const reads: [string, string, Dialect][] = [
        ['info', `/api/models/${rid}`, 'api'],
        ['tree', `/api/models/${rid}/tree/main`, 'api'],
        ['resolve', `/${rid}/resolve/main/.gitattributes`, 'api'],
        ['git info/refs', `/${rid}.git/info/refs?service=git-upload-pack`, 'git'],
      ]
      for (const a of actors) {
        for (const [what, p, dialect] of reads) {
          const res = await fetch(`${s2.url}${p}`, { headers: headers(a) })
          const exp = expected(a, 'read', repo, { dialect, anonymousRead: false })
          await m.check(t, `anonymous-read off: ${what} ${rid} as ${a.label}`, res, exp, dialect)
          if (res.status === 200) await res.arrayBuffer()
        }
        const res = await fetch(`${s2.url}/api/models/${rid}/commit/main`, {
          method: 'POST',
          headers: headers(a, { 'content-type': 'application/x-ndjson' }),
          body: ndjson([header('x'), file('x.txt', 'x')]),
        })
        await m.check(t, `anonymous-read off: commit ${rid} as ${a.label}`, res, expected(a, 'write', repo, { anonymousRead: false }))
      }
    }
    for (const a of actors) {
      for (const q of ['', '?author=carol', '?search=carol']) {
        const res = await fetch(`${s2.url}/api/models${q}`, { headers: headers(a) })
        const exp: Expected = a.bad ? { status: 401, code: null, invalidCredentials: true } : a.user === null ? { status: 401, code: null } : { status: 200 }
        if ((await m.check(t, `anonymous-read off: listing ${q || '(all)'} as ${a.label}`, res, exp)) && res.status === 200) {
          const ids = ((await res.json()) as { id: string }[]).map((x) => x.id)
          t.ok(ids.includes('carol/open'), `listing ${q} as ${a.label}: the public repo`)
          t.equal(ids.includes('carol/closed'), a.user === 'carol', `listing ${q} as ${a.label}: the private repo only for its owner`)
        }
      }
    }
    if (!GIT_SKIP) {
      const { git } = await gitClient(t)
      const dir = scratchDir(t)
      const anonClone = await git(['clone', '-q', `${s2.url}/${id}`, path.join(dir, 'anon')], { allowFail: true })
      t.not(anonClone.code, 0, 'an anonymous git clone is refused')
      const tokenClone = await git(['clone', '-q', tokenUrl(s2, id, carol), path.join(dir, 'carol')], { allowFail: true })
      t.equal(tokenClone.code, 0, `a clone with a read token works ${tokenClone.stderr}`)
      const privClone = await git(['clone', '-q', tokenUrl(s2, 'carol/closed', carol), path.join(dir, 'closed')], { allowFail: true })
      t.equal(privClone.code, 0, `the owner's read token clones the private repo ${privClone.stderr}`)
      const strangerClone = await git(['clone', '-q', tokenUrl(s2, 'carol/closed', dave), path.join(dir, 'stranger')], { allowFail: true })
      t.not(strangerClone.code, 0, "a stranger cannot clone carol's private repo")
    }
    t.comment(`access matrix incl. anonymous-read off: ${m.n} cells checked`)
  })

  top.test('matrix size', async (t) => {
    t.comment(`access matrix: ${m.n} cells checked`)
    t.ok(m.n >= MIN_CELLS, `at least ${MIN_CELLS} cells (${m.n})`)
  })
})
