import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ContentStore } from '../../storage/blobs/content-store.js'
import { FsBlobDriver } from '../../storage/blobs/fs-blob-driver.js'
import { requiredOnly, storageConformance } from './blob-driver-conformance.js'
import { bytes, failingAfter, readAll, rejectionOf, sha256 } from './blob-store-conformance.js'

let n = 0
t.test('conformance (fsync off)', async (t) => {
  const root = t.testdir()
  storageConformance(t, async () => new FsBlobDriver(path.join(root, `s${++n}`), { fsync: false }))
})

t.test('conformance (fsync on, the default)', async (t) => {
  const root = t.testdir()
  storageConformance(t, async () => new FsBlobDriver(path.join(root, `s${++n}`)))
})

/** Every file (not folder) below `dir`, relative. */
function filesBelow(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
}

t.test('failed puts leave nothing in the tmp folder', async (t) => {
  const root = t.testdir()
  const store = new ContentStore(new FsBlobDriver(root, { fsync: false }))
  const data = Buffer.from('some bytes to store\n')
  const oid = sha256(data)
  const failures = [
    () => store.put(bytes(data), { oid: sha256(Buffer.from('other')), size: data.length }),
    () => store.put(bytes(data), { oid, size: data.length - 1 }),
    () => store.put(bytes(data), { oid, size: data.length + 1 }),
    () => store.put(failingAfter(data), { oid, size: data.length * 2 }),
  ]
  for (const put of failures) t.ok(await rejectionOf(put()), 'rejected')
  t.same(filesBelow(path.join(root, 'tmp')), [], 'tmp is empty')
  t.same(fs.existsSync(path.join(root, 'sha256')) ? filesBelow(path.join(root, 'sha256')) : [], [], 'nothing published')
  await store.put(bytes(data), { oid, size: data.length })
  t.same(filesBelow(path.join(root, 'tmp')), [], 'tmp is empty after a good put too')
  t.same(filesBelow(path.join(root, 'sha256')), [path.join(oid.slice(0, 2), oid.slice(2, 4), oid)], 'sha256/ab/cd/<oid>')
})

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  for (;;) {
    const { pid } = spawnSync(process.execPath, ['-e', ''])
    if (pid === undefined) throw new Error('could not spawn')
    try {
      process.kill(pid, 0)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return pid
    }
  }
}

t.test('sweep removes the tmp folders of dead writers only', async (t) => {
  const root = t.testdir()
  const driver = new FsBlobDriver(root, { fsync: false })
  const store = new ContentStore(driver)
  const tmp = path.join(root, 'tmp')
  const [own] = fs.readdirSync(tmp)
  t.ok(own, 'the store made its own tmp folder')
  const host = os.hostname()
  const dead = `${host}-${deadPid()}-x`
  const live = `${host}-${process.ppid}-x`
  const otherHostFresh = 'some-other-host-1234-x'
  const otherHostOld = 'some-other-host-5678-x'
  for (const name of [dead, live, otherHostFresh, otherHostOld]) {
    fs.mkdirSync(path.join(tmp, name))
    fs.writeFileSync(path.join(tmp, name, 'put-1'), 'partial')
  }
  const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000)
  fs.utimesSync(path.join(tmp, otherHostOld), twoDaysAgo, twoDaysAgo)

  await driver.sweep()
  const left = new Set(fs.readdirSync(tmp))
  t.notOk(left.has(dead), 'dead writer removed')
  t.ok(left.has(own!), "the store's own folder kept")
  t.ok(left.has(live), 'a live process kept')
  t.ok(left.has(otherHostFresh), "another host's recent folder kept")
  t.notOk(left.has(otherHostOld), "another host's day-old folder removed")

  const data = Buffer.from('still works')
  await store.put(bytes(data), { oid: sha256(data), size: data.length })
  t.same(await store.stat(sha256(data)), { size: data.length }, 'puts still work after a sweep')
})

t.test('staging ids are checked', async (t) => {
  const root = t.testdir()
  const store = new ContentStore(new FsBlobDriver(root, { fsync: false }))
  for (const id of ['../escape', 'a/b', '', 'x'.repeat(101), '.']) {
    t.ok(await rejectionOf(store.createStaging(id, 1)), JSON.stringify(id))
  }
  t.notOk(fs.existsSync(path.join(root, 'escape')))
})

t.test('multipart staging on disk: one file staging/<id> written in place, renamed at the commit', async (t) => {
  const root = t.testdir()
  const store = new ContentStore(new FsBlobDriver(root, { fsync: false }))
  const data = Buffer.from('0123456789abcdefghij')
  await store.createStaging('up', data.length)
  await store.writeStaging('up', 10, 10, bytes(data.subarray(10)))
  t.same(fs.readdirSync(path.join(root, 'staging')), ['up'], 'the layout of earlier versions: uploads in progress survive an upgrade')
  await store.writeStaging('up', 0, 10, bytes(data.subarray(0, 10)))
  await store.commitStaging('up', { oid: sha256(data), size: data.length })
  t.same(fs.readdirSync(path.join(root, 'staging')), [], 'gone after the commit')
  t.same(filesBelow(path.join(root, 'tmp')), [], 'no temp file')
  t.ok((await readAll(await store.read(sha256(data)))).equals(data))
})

t.test('multipart staging from part objects (a driver without writeAt) leaves nothing behind', async (t) => {
  const root = t.testdir()
  const store = new ContentStore(requiredOnly(new FsBlobDriver(root, { fsync: false })))
  const data = Buffer.from('0123456789abcdefghij')
  await store.createStaging('up', data.length)
  await store.writeStaging('up', 10, 10, bytes(data.subarray(10)))
  await store.writeStaging('up', 0, 10, bytes(data.subarray(0, 10)))
  t.same(filesBelow(path.join(root, 'staging')).sort(), ['up/part-0', 'up/part-10', 'up/upload'].map((f) => path.join(...f.split('/'))))
  await store.commitStaging('up', { oid: sha256(data), size: data.length })
  t.same(fs.readdirSync(path.join(root, 'staging')), [], 'the upload folder is removed too')
  t.same(filesBelow(path.join(root, 'tmp')), [], 'no temp file')
  t.ok((await readAll(await store.read(sha256(data)))).equals(data))
})
