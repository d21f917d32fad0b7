/**
 * The indexer derives a commit's facts (card data, tags, storage used) from its parent's and the
 * diff of the two trees instead of listing every file again: after every kind of change the facts
 * must equal those of a full listing.
 */
import t from 'tap'
import type { ReposTable } from '../../storage/db/repos-table.js'
import { ANONYMOUS } from '../../server/auth/access.js'
import { RepoIndexer } from '../../server/services/repo-indexer.js'
import { commitLines, createRepo, startServer } from '../helpers/server.js'

const file = (path: string, content: string) => ({ key: 'file', value: { path, content, encoding: 'utf-8' } })
const readme = (yaml: string) => file('README.md', `---\n${yaml}\n---\n# Card\n`)

t.test('facts indexed from each commit diff equal those of a full listing', async (t) => {
  const server = await startServer(t)
  await createRepo(server, 'inc')
  // What the test itself knows of the files (beyond what repo creation wrote): path → size.
  const files = new Map<string, number>()
  const base = ((await (await fetch(`${server.url}/api/models/admin/inc`)).json()) as { usedStorage: number }).usedStorage
  const steps: { name: string; ops: { key: string; value: { path: string; content?: string } }[]; expect: { tags: string[] } }[] = [
    { name: 'plain files', ops: [file('a.txt', 'aaaa'), file('d/b.txt', 'bb')], expect: { tags: [] } },
    {
      name: 'a card and a weight file',
      ops: [readme('license: mit\ntags: [x]\nlibrary_name: lib'), file('w/model.safetensors', '12345')],
      expect: { tags: ['lib', 'license:mit', 'safetensors', 'x'] },
    },
    { name: 'a second weight file, a file rewritten', ops: [file('w/more.safetensors', '1'), file('a.txt', 'a')], expect: { tags: ['lib', 'license:mit', 'safetensors', 'x'] } },
    { name: 'one weight file gone: the tag stays', ops: [{ key: 'deletedFile', value: { path: 'w/model.safetensors' } }], expect: { tags: ['lib', 'license:mit', 'safetensors', 'x'] } },
    { name: 'card changed', ops: [readme('license: apache-2.0')], expect: { tags: ['license:apache-2.0', 'safetensors'] } },
    { name: 'folder of weights gone', ops: [{ key: 'deletedFolder', value: { path: 'w' } }], expect: { tags: ['license:apache-2.0'] } },
    { name: 'a file becomes a folder', ops: [{ key: 'deletedFile', value: { path: 'a.txt' } }, file('a.txt/inner.gguf', 'gg')], expect: { tags: ['gguf', 'license:apache-2.0'] } },
    { name: 'card gone', ops: [{ key: 'deletedFile', value: { path: 'README.md' } }], expect: { tags: ['gguf'] } },
  ]
  for (const step of steps) {
    const res = await commitLines(server, 'models/admin/inc', 'main', [{ key: 'header', value: { summary: step.name } }, ...step.ops])
    t.equal(res.status, 200, `${step.name}: committed`)
    const info = (await (await fetch(`${server.url}/api/models/admin/inc`)).json()) as { sha: string; tags: string[]; usedStorage: number; cardData?: unknown }
    for (const op of step.ops) {
      if (op.key === 'file') files.set(op.value.path, Buffer.byteLength(op.value.content!))
      if (op.key === 'deletedFile') files.delete(op.value.path)
      if (op.key === 'deletedFolder') for (const p of files.keys()) if (p.startsWith(`${op.value.path}/`)) files.delete(p)
    }
    const usedStorage = base + [...files.values()].reduce((a, b) => a + b, 0)
    t.same({ tags: info.tags, usedStorage: info.usedStorage }, { ...step.expect, usedStorage }, `${step.name}: info`)
    // A fresh indexer knows no parent: it lists every file.
    const repo = await server.ctx.repos.get('model', 'admin', 'inc', ANONYMOUS, 'read')
    const full = await new RepoIndexer(null as unknown as ReposTable, server.ctx.content).describe(repo, info.sha)
    t.same(await server.ctx.indexer.describe(repo, info.sha), full, `${step.name}: same facts as a full listing`)
    const listed = (await (await fetch(`${server.url}/api/models?search=inc&full=true`)).json()) as { tags?: string[] }[]
    t.same(listed[0]?.tags, step.expect.tags, `${step.name}: listing tags`)
  }
})
