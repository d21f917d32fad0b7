import path from 'node:path'
import t, { type Test } from 'tap'
import { openDb } from '../../storage/db/open.js'
import { XetTable } from '../../storage/db/xet-table.js'
import { projectRoot } from '../../server/project-root.js'

const h = (c: string) => c.repeat(64).slice(0, 64)

function setup(t: Test) {
  const db = openDb(path.join(t.testdir(), 'x.sqlite'), path.join(projectRoot(), 'migrations'))
  t.teardown(() => db.close())
  for (const id of ['r1', 'r2']) {
    db.prepare(
      `INSERT INTO repos (id, type, namespace, name, created_at, last_modified) VALUES (?, 'model', 'ns', ?, '2024-01-01', '2024-01-01')`,
    ).run(id, id)
  }
  const chunk = (i: number, len: number) => ({ hash: h(String(i)), packed_start: i * 100, packed_end: i * 100 + 100, unpacked_start: i * len, unpacked_length: len })
  return { db, index: new XetTable(db), chunk }
}

t.test('xorbs: recorded once with their chunk table; a repeat only refreshes the upload time', async (t) => {
  const { index, chunk } = setup(t)
  t.equal(index.recordXorb(h('a'), [chunk(0, 10), chunk(1, 10)], 200), true)
  const first = index.xorb(h('a'))!
  t.same({ n: first.num_chunks, p: first.packed_length, u: first.unpacked_length }, { n: 2, p: 200, u: 20 })
  await new Promise((r) => setTimeout(r, 5))
  t.equal(index.recordXorb(h('a'), [chunk(0, 99)], 100), false, 'second upload: not inserted')
  t.same(index.chunks(h('a')).map((c) => c.unpacked_length), [10, 10], 'the first table stays')
  t.ok(index.xorb(h('a'))!.last_upload_at > first.last_upload_at, 'GC clock refreshed (docs/xet-protocol.md §5.4)')
  t.same(index.stats(), { xorbs: 1, chunks: 2, unpacked: 20, packed: 200 })
})

t.test('shards: files, claims, visibility, idempotency and an accumulating dedup index', async (t) => {
  const { index, chunk } = setup(t)
  index.recordXorb(h('a'), [chunk(0, 10), chunk(1, 10)], 200)
  index.recordXorb(h('b'), [chunk(2, 5)], 100)
  const f1 = { hash: h('f'), size: 20, sha256: h('5'), terms: [{ xorb_hash: h('a'), chunk_start: 0, chunk_end: 2, unpacked_length: 20 }] }
  t.equal(index.registerShard('s1', 'r1', [f1], [{ chunk: h('0'), xorbs: [h('a')] }]), true)
  t.equal(index.registerShard('s1', 'r1', [f1], [{ chunk: h('0'), xorbs: [h('a')] }]), false, 'same shard, same repo: 0')
  t.ok(index.shardSeen('s1', 'r1'))
  t.notOk(index.shardSeen('s1', 'r2'), 'shards are per repo')
  t.same(index.file(h('f'))?.terms, f1.terms)
  t.ok(index.visible('r1', h('f')))
  t.notOk(index.visible('r2', h('f')), 'not visible to another repo')
  t.same(index.claims('r1', h('5'), 20), [{ file_hash: h('f'), size: 20, claimed: true }])
  t.same(index.claims('r2', h('5'), 20), [], 'claims are per repo')

  // A second version deduplicating against the first: the first chunk now leads to both xorbs.
  const f2 = {
    hash: h('e'),
    size: 25,
    sha256: null,
    terms: [
      { xorb_hash: h('a'), chunk_start: 0, chunk_end: 2, unpacked_length: 20 },
      { xorb_hash: h('b'), chunk_start: 0, chunk_end: 1, unpacked_length: 5 },
    ],
  }
  index.registerShard('s2', 'r2', [f2], [{ chunk: h('0'), xorbs: [h('a'), h('b')] }])
  t.same(index.dedupXorbs(h('0'), 10).sort(), [h('a'), h('b')].sort(), 'the dedup index accumulates (docs/xet-protocol.md §11)')
  t.same(index.claims('r2', h('9'), 25), [{ file_hash: h('e'), size: 25, claimed: false }], 'no sha256 in the shard: matched by size')
  t.same(index.claims('r2', h('9'), 24), [])

  // A verified mapping makes the file visible to repos whose LFS pointers name it.
  index.recordObject(h('5'), h('f'), 20)
  t.same(index.object(h('5')), { oid: h('5'), file_hash: h('f'), size: 20 })
  t.equal(index.oidOfFile(h('f')), h('5'))
  t.notOk(index.visible('r2', h('f')))
  index['db'].prepare("INSERT INTO repo_objects (repo_id, oid, created_at) VALUES ('r2', ?, 'now')").run(h('5'))
  t.ok(index.visible('r2', h('f')), 'linked through repo_objects')
})
