/**
 * What an attacker (or a careless script) tries with `git push` that the API refuses (issue 13,
 * items 4 and 6): a branch named HEAD or another reserved name, moving a tag with `--force`, a file
 * or folder name over 255 bytes, and two names equal once Unicode-normalized. Each push is refused
 * with the reason shown by git (`remote: …`) and no ref moves; what the API allows still goes through.
 */
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { gitClient, scratchDir, tokenUrl, type GitClient } from '../helpers/git.js'
import { authed, createRepo, startServer, type TestServer } from '../helpers/server.js'

const NFC = 'caf\u00e9.txt'
const NFD = 'cafe\u0301.txt'

interface Refs {
  branches: { name: string; targetCommit: string }[]
  tags: { name: string; targetCommit: string }[]
}

async function refs(server: TestServer, repo: string): Promise<Refs> {
  const res = await authed(server, `/api/models/${repo}/refs`)
  if (res.status !== 200) throw new Error(`refs ${repo}: ${res.status}`)
  return (await res.json()) as Refs
}

/** A clone of a new repo, and a way to commit files by path without a working tree (any name git takes). */
async function setup(t: Test, name: string) {
  const server = await startServer(t)
  const client = await gitClient(t)
  await createRepo(server, name)
  const dir = scratchDir(t)
  await client.git(['clone', '-q', tokenUrl(server, `admin/${name}`), 'w'], { cwd: dir })
  const w = path.join(dir, 'w')
  return { server, git: client.git, w, commitPaths: (paths: string[], message: string) => commitPaths(client, w, paths, message) }
}

/** Stages `paths` through the index only (a 300-byte name exists on no Linux file system) and commits. */
async function commitPaths({ git }: GitClient, w: string, paths: string[], message: string): Promise<string> {
  const content = path.join(path.dirname(w), 'content.txt')
  for (const p of paths) {
    fs.writeFileSync(content, `${p}\n`)
    const oid = (await git(['hash-object', '-w', content], { cwd: w })).stdout.trim()
    await git(['update-index', '--add', '--cacheinfo', `100644,${oid},${p}`], { cwd: w })
  }
  await git(['commit', '-q', '-m', message], { cwd: w })
  return (await git(['rev-parse', 'HEAD'], { cwd: w })).stdout.trim()
}

t.test('a branch named HEAD, or like a ref or a commit id, is refused as by the API', async (t) => {
  const { server, git, w } = await setup(t, 'names')
  const before = await refs(server, 'admin/names')
  for (const [dst, why] of [
    ['HEAD:HEAD', /refs\/heads\/HEAD.*"HEAD" is reserved|"HEAD" is reserved.*refs\/heads\/HEAD/],
    ['HEAD:refs/heads/refs/heads/x', /"refs\/heads\/x" is reserved/],
    [`HEAD:refs/heads/${'a'.repeat(40)}`, /may not look like a commit id/],
  ] as const) {
    const push = await git(['push', 'origin', dst], { cwd: w, allowFail: true })
    t.not(push.code, 0, `git push origin ${dst} fails`)
    t.match(push.stderr, /remote: .*Invalid reference for a branch/, `${dst}: git shows the reason`)
    t.match(push.stderr, why, `${dst}: the reason names the rule`)
  }
  t.same(await refs(server, 'admin/names'), before, 'no ref was created')
  const api = await authed(server, '/api/models/admin/names/branch/HEAD', { method: 'POST' })
  t.equal(api.status, 400, 'the API refuses the same name')
})

t.test('a tag never moves, even with --force; deleting one is allowed, as through the API', async (t) => {
  const { server, git, w, commitPaths } = await setup(t, 'tags')
  const first = await commitPaths(['one.txt'], 'one')
  await git(['push', '-q', 'origin', 'main'], { cwd: w })
  await git(['tag', 'v1'], { cwd: w })
  await git(['tag', '-a', 'v2', '-m', 'annotated'], { cwd: w })
  await git(['push', '-q', 'origin', 'v1', 'v2'], { cwd: w })
  const second = await commitPaths(['two.txt'], 'two')
  await git(['push', '-q', 'origin', 'main'], { cwd: w })

  for (const tag of ['v1', 'v2']) {
    await git(['tag', '-f', ...(tag === 'v2' ? ['-a', '-m', 'moved'] : []), tag, second], { cwd: w })
    const push = await git(['push', '-f', 'origin', tag], { cwd: w, allowFail: true })
    t.not(push.code, 0, `git push -f of a moved ${tag} fails`)
    t.match(push.stderr, new RegExp(`remote: .*Tag ${tag} already exists; a tag never moves`), `${tag}: git shows the reason`)
  }
  const after = await refs(server, 'admin/tags')
  t.same(
    after.tags.map((x) => [x.name, x.targetCommit]),
    [
      ['v1', first],
      ['v2', first],
    ],
    'both tags still point at the first commit',
  )
  const api = await authed(server, '/api/models/admin/tags/tag/main', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tag: 'v1' }),
  })
  t.equal(api.status, 409, 'the API refuses the same move')

  await git(['push', '-q', 'origin', ':refs/tags/v1'], { cwd: w })
  t.same((await refs(server, 'admin/tags')).tags.map((x) => x.name), ['v2'], 'a tag can be deleted')
  await git(['push', '-q', 'origin', `${second}:refs/tags/v1`], { cwd: w })
  t.same((await refs(server, 'admin/tags')).tags.find((x) => x.name === 'v1')?.targetCommit, second, 'and created again elsewhere')
})

t.test('a file or folder name over 255 bytes is refused', async (t) => {
  const { server, git, w, commitPaths } = await setup(t, 'long')
  const head = (await refs(server, 'admin/long')).branches[0]!.targetCommit
  for (const p of [`${'x'.repeat(300)}.txt`, `dir/${'é'.repeat(128)}/file.txt`]) {
    await git(['reset', '-q', '--hard', head], { cwd: w })
    await commitPaths(['ok.txt', p], 'long name')
    const push = await git(['push', 'origin', 'main'], { cwd: w, allowFail: true })
    t.not(push.code, 0, `a ${Buffer.byteLength(p)}-byte path with a long segment is refused`)
    t.match(push.stderr, /remote: .*cannot be checked out/, 'git shows why')
    t.match(push.stderr, /remote: .*bytes; a file or folder name may have at most 255/, 'git shows the limit')
    t.equal((await refs(server, 'admin/long')).branches[0]!.targetCommit, head, 'main did not move')
  }
  await git(['reset', '-q', '--hard', head], { cwd: w })
  await commitPaths([`${'y'.repeat(251)}.txt`, `${'é'.repeat(127)}/a`], 'exactly 255 and 254 bytes')
  await git(['push', '-q', 'origin', 'main'], { cwd: w })
  t.not((await refs(server, 'admin/long')).branches[0]!.targetCommit, head, 'a 255-byte name is accepted')
})

t.test('two names that are one on macOS (NFC and NFD) are refused', async (t) => {
  const { server, git, w, commitPaths } = await setup(t, 'nfc')
  const head = (await refs(server, 'admin/nfc')).branches[0]!.targetCommit
  await commitPaths([`docs/${NFC}`, `docs/${NFD}`], 'both forms at once')
  let push = await git(['push', 'origin', 'main'], { cwd: w, allowFail: true })
  t.not(push.code, 0, 'both forms in one push are refused')
  t.match(push.stderr, /remote: .*docs\/.*same as "docs\/.*" once Unicode-normalized \(NFC\)/, 'git shows the folder and the rule')
  t.equal((await refs(server, 'admin/nfc')).branches[0]!.targetCommit, head, 'main did not move')

  await git(['reset', '-q', '--hard', head], { cwd: w })
  await commitPaths([NFC], 'the composed form')
  await git(['push', '-q', 'origin', 'main'], { cwd: w })
  const composed = (await refs(server, 'admin/nfc')).branches[0]!.targetCommit
  await commitPaths([NFD], 'the decomposed form next to it')
  push = await git(['push', 'origin', 'main'], { cwd: w, allowFail: true })
  t.not(push.code, 0, 'the other form next to a pushed file is refused')
  t.match(push.stderr, /once Unicode-normalized/)
  t.equal((await refs(server, 'admin/nfc')).branches[0]!.targetCommit, composed, 'main did not move')

  // Renaming one form to the other is fine: the folder never holds both.
  await git(['reset', '-q', '--hard', composed], { cwd: w })
  await git(['rm', '-q', '--cached', NFC], { cwd: w })
  await commitPaths([NFD], 'rename to the decomposed form')
  await git(['push', '-q', 'origin', 'main'], { cwd: w })
  t.not((await refs(server, 'admin/nfc')).branches[0]!.targetCommit, composed, 'a rename between the forms is accepted')
})
