/**
 * Commits racing on one branch (docs/hub-api.md §6.3, §6.5): without parentCommit every commit lands (none is
 * lost); with the same parentCommit exactly one wins and the others get the Hub's 412.
 */
import t from 'tap'
import { commitLines, createRepo, startServer } from '../helpers/server.js'
import { BRANCH_UPDATED } from '../../server/errors.js'
import { branchHead, expectHubError, fileLine, headerLine } from '../helpers/error-helpers.js'

const HUB_412 = 'The branch was updated since you opened this page. Please refresh and try again.'

async function treePaths(url: string, repo: string): Promise<string[]> {
  const res = await fetch(`${url}/api/models/${repo}/tree/main?recursive=true`)
  if (res.status !== 200) throw new Error(`tree: ${res.status}`)
  return ((await res.json()) as { path: string; type: string }[]).filter((e) => e.type === 'file').map((e) => e.path).sort()
}

t.test('concurrent commits without parentCommit all land', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'race')
  const N = 10
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      commitLines(s, `models/${repo}`, 'main', [headerLine(`commit ${i}`), fileLine(`f${i}.txt`, `content ${i}`), fileLine('shared.txt', `last writer ${i}`)]),
    ),
  )
  const statuses = results.map((r) => r.status)
  t.same(statuses, Array(N).fill(200), 'every commit answered 200')
  const oids = await Promise.all(results.map(async (r) => ((await r.json()) as { commitOid: string }).commitOid))
  t.equal(new Set(oids).size, N, 'N distinct commits')

  const paths = await treePaths(s.url, repo)
  for (let i = 0; i < N; i++) t.ok(paths.includes(`f${i}.txt`), `f${i}.txt is present`)
  for (let i = 0; i < N; i++) {
    const got = await fetch(`${s.url}/${repo}/resolve/main/f${i}.txt`)
    t.equal(await got.text(), `content ${i}`, `f${i}.txt has its content`)
  }
  // The head is one of the commits, and walking first parents visits all N (a linear history).
  const head = await branchHead(s, repo)
  t.ok(oids.includes(head), 'the head is one of the racing commits')
  const git = s.ctx.content.git(await s.ctx.repos.get('model', 'admin', 'race', s.ctx.auth.actorFor(`Bearer ${s.token}`), 'read'))
  const seen = new Set<string>()
  let cur: string | undefined = head
  while (cur && seen.size < N + 5) {
    seen.add(cur)
    cur = (await git.readCommit(cur)).parents[0]
  }
  for (const oid of oids) t.ok(seen.has(oid), `commit ${oid.slice(0, 7)} is in the history`)
  t.equal(seen.size, N + 1, 'N commits on top of the initial one')
})

t.test('concurrent commits naming the same parentCommit: one wins, the rest 412', async (t) => {
  t.equal(BRANCH_UPDATED, HUB_412, 'the server uses the Hub wording')
  const s = await startServer(t)
  const repo = await createRepo(s, 'optimistic')
  const parent = await branchHead(s, repo)
  const N = 5
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      commitLines(s, `models/${repo}`, 'main', [headerLine(`attempt ${i}`, { parentCommit: parent }), fileLine(`p${i}.txt`, `attempt ${i}`)]),
    ),
  )
  const winners = results.filter((r) => r.status === 200)
  const losers = results.filter((r) => r.status !== 200)
  t.equal(winners.length, 1, 'exactly one 200')
  t.equal(losers.length, N - 1)
  for (const r of losers) await expectHubError(t, r, { status: 412, code: null, message: HUB_412 }, 'loser')
  const win = (await winners[0]!.json()) as { commitOid: string }
  t.equal(await branchHead(s, repo), win.commitOid, 'the branch is at the winner')
  const paths = await treePaths(s.url, repo)
  t.equal(paths.filter((p) => /^p\d\.txt$/.test(p)).length, 1, 'only the winner’s file is present')

  // Sequentially, a stale parentCommit is a 412 too, and the current head (or a prefix) works.
  const stale = await commitLines(s, `models/${repo}`, 'main', [headerLine('stale', { parentCommit: parent }), fileLine('s.txt', 's')])
  await expectHubError(t, stale, { status: 412, code: null, message: HUB_412 }, 'stale parent')
  t.equal(await branchHead(s, repo), win.commitOid, 'unchanged after the stale attempt')
  const fresh = await commitLines(s, `models/${repo}`, 'main', [headerLine('fresh', { parentCommit: win.commitOid }), fileLine('s.txt', 's')])
  t.equal(fresh.status, 200, 'the current head as parentCommit works')
  const head2 = await branchHead(s, repo)
  const prefix = await commitLines(s, `models/${repo}`, 'main', [headerLine('prefix', { parentCommit: head2.slice(0, 7) }), fileLine('t.txt', 't')])
  t.equal(prefix.status, 200, 'a 7-character prefix of the head works')
})

t.test('mixed race: parentCommit losers do not block plain commits', async (t) => {
  const s = await startServer(t)
  const repo = await createRepo(s, 'mixed')
  const parent = await branchHead(s, repo)
  const results = await Promise.all([
    ...Array.from({ length: 4 }, (_, i) =>
      commitLines(s, `models/${repo}`, 'main', [headerLine(`locked ${i}`, { parentCommit: parent }), fileLine(`l${i}.txt`, 'l')]),
    ),
    ...Array.from({ length: 4 }, (_, i) => commitLines(s, `models/${repo}`, 'main', [headerLine(`free ${i}`), fileLine(`free${i}.txt`, 'f')])),
  ])
  const locked = results.slice(0, 4).map((r) => r.status)
  const free = results.slice(4).map((r) => r.status)
  t.same(free, [200, 200, 200, 200], 'every plain commit lands')
  t.ok(locked.filter((x) => x === 200).length <= 1, 'at most one parentCommit commit wins')
  t.ok(locked.every((x) => x === 200 || x === 412), `the others are 412 (${locked.join(',')})`)
  for (const r of results) await r.arrayBuffer()
  const paths = await treePaths(s.url, repo)
  for (let i = 0; i < 4; i++) t.ok(paths.includes(`free${i}.txt`), `free${i}.txt present`)
  t.equal(paths.filter((p) => /^l\d\.txt$/.test(p)).length, locked.filter((x) => x === 200).length, 'exactly the winners’ files')
})
