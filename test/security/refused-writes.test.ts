/**
 * What an attacker tries (issue 13, item 2): a commit's inline contents are written while its
 * body streams in, before anything is checked. Each kind of refusal, sent with megabytes of
 * content to someone else's repo, must leave the repositories' size on disk as it was.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import t from 'tap'
import { createToken, createUser } from '../helpers/accounts.js'
import { diskUsage } from '../helpers/disk.js'
import { commitLines, createRepo, startServer, type TestServer } from '../helpers/server.js'

const KiB = 1024
const MiB = 1024 * KiB
/** Directory blocks and the like: far below the content each attempt carries. */
const SLACK = 64 * KiB

/** Ten 200 KiB files of random (incompressible) content, inline. */
function bulkyFiles(tag: string): unknown[] {
  return Array.from({ length: 10 }, (_, i) => ({
    key: 'file',
    value: { path: `${tag}/blob-${i}.bin`, content: randomBytes(200 * KiB).toString('base64'), encoding: 'base64' },
  }))
}

/** A commit opening a pull request (`create_pr=1`), which any signed-in user may send to a public repo. */
function prLines(server: TestServer, repo: string, lines: unknown[], token: string): Promise<Response> {
  return fetch(`${server.url}/api/models/${repo}/commit/main?create_pr=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'),
  })
}

const header = (extra: Record<string, unknown> = {}) => ({ key: 'header', value: { summary: 'attack', ...extra } })
const badLfs = { key: 'lfsFile', value: { path: 'weights.bin', algo: 'sha256', oid: 'f'.repeat(64), size: 1234 } }

t.test('refused commits leave nothing on disk', async (t) => {
  const server = await startServer(t, { HUBD_MAX_COMMIT_BODY: String(4 * MiB) })
  const repo = await createRepo(server, 'victim')
  const reposDir = path.join(server.dataDir, 'repos')
  await createUser(server.url, 'mallory')
  const mallory = (await createToken(server.url, 'mallory', 'write')).token
  const reader = (await createToken(server.url, 'mallory', 'read')).token
  const head = async () => ((await (await fetch(`${server.url}/api/models/${repo}/revision/main`)).json()) as { sha: string }).sha

  const attempts: { name: string; status: number; send: () => Promise<Response> }[] = [
    { name: 'an lfsFile naming no stored object', status: 400, send: () => commitLines(server, `models/${repo}`, 'main', [header(), ...bulkyFiles('a'), badLfs]) },
    {
      name: 'a stale parentCommit (412)',
      status: 412,
      send: async () => commitLines(server, `models/${repo}`, 'main', [header({ parentCommit: '0'.repeat(40) }), ...bulkyFiles('b')]),
    },
    {
      name: "create_pr=1 on someone else's public repo, then a bad lfsFile",
      status: 400,
      send: () => prLines(server, repo, [header(), ...bulkyFiles('c'), badLfs], mallory),
    },
    {
      name: 'create_pr=1 with a stale parentCommit',
      status: 404,
      send: () => prLines(server, repo, [header({ parentCommit: '0'.repeat(40) }), ...bulkyFiles('d')], mallory),
    },
    {
      name: 'a deletedFile of a missing path',
      status: 404,
      send: () => commitLines(server, `models/${repo}`, 'main', [header(), ...bulkyFiles('e'), { key: 'deletedFile', value: { path: 'nope.txt' } }]),
    },
    {
      name: 'a copyFile from a missing source',
      status: 404,
      send: () => commitLines(server, `models/${repo}`, 'main', [header(), ...bulkyFiles('f'), { key: 'copyFile', value: { path: 'x', srcPath: 'nope' } }]),
    },
    {
      name: 'a file written over a file used as a folder (422)',
      status: 422,
      send: () =>
        commitLines(server, `models/${repo}`, 'main', [
          header(),
          ...bulkyFiles('g'),
          { key: 'file', value: { path: '.gitattributes/inside', content: 'eA==', encoding: 'base64' } },
        ]),
    },
    {
      name: 'a malformed line after the contents',
      status: 400,
      send: () => commitLines(server, `models/${repo}`, 'main', [header(), ...bulkyFiles('h'), '{"key": "file", "value": 1}']),
    },
    {
      name: 'a body over HUBD_MAX_COMMIT_BODY (413)',
      status: 413,
      send: () => commitLines(server, `models/${repo}`, 'main', [header(), ...bulkyFiles('k'), ...bulkyFiles('l')]),
    },
    { name: 'a commit by a read-only token', status: 403, send: () => commitLines(server, `models/${repo}`, 'main', [header(), ...bulkyFiles('i')], reader) },
    { name: 'a commit by a non-member to the branch', status: 403, send: () => commitLines(server, `models/${repo}`, 'main', [header(), ...bulkyFiles('j')], mallory) },
  ]

  const start = await head()
  for (const attempt of attempts) {
    const before = diskUsage(reposDir)
    const res = await attempt.send()
    t.equal(res.status, attempt.status, `${attempt.name}: refused`)
    await res.arrayBuffer()
    const grew = diskUsage(reposDir) - before
    t.ok(grew < SLACK, `${attempt.name}: the repositories did not grow (${grew} bytes)`)
  }
  t.equal(await head(), start, 'the branch never moved')

  // The measure can fail: the same content, accepted, takes its 2 MB.
  const before = diskUsage(reposDir)
  const ok = await commitLines(server, `models/${repo}`, 'main', [header(), ...bulkyFiles('ok')])
  t.equal(ok.status, 200)
  t.ok(diskUsage(reposDir) - before >= 2 * MiB, 'an accepted commit does grow the repository')
})
