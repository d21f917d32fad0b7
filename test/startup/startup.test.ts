import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import Database from 'better-sqlite3'
import { ConfigError, loadConfig } from '../../server/config.js'
import { projectRoot } from '../../server/project-root.js'
import { freePort } from '../helpers/process.js'

const run = promisify(execFile)
const main = path.join(projectRoot(), 'dist/server/main.js')

t.test('defaults', async (t) => {
  const c = loadConfig({})
  t.equal(c.port, 8080)
  t.equal(c.host, '127.0.0.1')
  t.equal(c.dataDir, path.resolve('./data'))
  t.equal(c.publicUrl, null)
  t.equal(c.adminUser, 'admin')
  t.equal(c.adminToken, null)
})

t.test('every invalid variable is named in a one-line message', async (t) => {
  const cases: Record<string, string> = {
    HUBD_PORT: 'eighty',
    HUBD_PUBLIC_URL: 'localhost:8080',
    HUBD_ADMIN_TOKEN: 'not-a-hub-token',
    HUBD_ADMIN_USER: '../root',
    HUBD_LFS_THRESHOLD: '-1',
    HUBD_MULTIPART_CHUNK_SIZE: '1024',
    HUBD_FSYNC: 'maybe',
    HUBD_LOG_LEVEL: 'loud',
  }
  for (const [name, value] of Object.entries(cases)) {
    let err: unknown = null
    try {
      loadConfig({ [name]: value })
    } catch (e) {
      err = e
    }
    t.ok(err instanceof ConfigError, `${name}=${value} is refused`)
    t.match((err as Error).message, name, `the message names ${name}`)
    t.notMatch((err as Error).message, '\n', 'on one line')
  }
  t.equal(loadConfig({ HUBD_PUBLIC_URL: 'https://hub.example.org/hf/' }).publicUrl, 'https://hub.example.org/hf', 'trailing slash dropped')
})

t.test('the server refuses to start on bad configuration, naming the variable', async (t) => {
  const err = await run(process.execPath, [main], { env: { PATH: process.env.PATH, HUBD_PORT: '99999' } }).then(
    () => null,
    (e: { code: number; stderr: string }) => e,
  )
  t.equal(err?.code, 2)
  t.match(err?.stderr, /^hubd: invalid configuration: HUBD_PORT .*\n$/)
})

t.test('without HUBD_ADMIN_TOKEN the first start prints a token once and stores only its hash', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-start-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const start = async () => {
    const port = await freePort()
    const { spawn } = await import('node:child_process')
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH, HUBD_DATA_DIR: dataDir, HUBD_PORT: String(port), HUBD_LOG_LEVEL: 'warn' },
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    for (let i = 0; i < 200; i++) {
      if (await fetch(`http://127.0.0.1:${port}/api/whoami-v2`).then(() => true, () => false)) break
      await new Promise((r) => setTimeout(r, 50))
    }
    await new Promise((r) => setTimeout(r, 100))
    return { out, port, stop: () => new Promise((r) => (child.on('exit', r), child.kill('SIGTERM'))) }
  }
  const first = await start()
  const token = /\b(hf_[A-Za-z0-9]{34})\b/.exec(first.out)?.[1]
  t.ok(token, 'a token was printed')
  const me = await fetch(`http://127.0.0.1:${first.port}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(((await me.json()) as { name: string }).name, 'admin', 'the printed token is the admin write token')
  await first.stop()

  const db = new Database(path.join(dataDir, 'hubd.sqlite'), { readonly: true })
  const dump = JSON.stringify(db.prepare('SELECT * FROM tokens').all())
  db.close()
  t.notMatch(dump, token!, 'the token itself is not stored')

  const second = await start()
  t.notMatch(second.out, /hf_[A-Za-z0-9]{34}/, 'no token is printed on later starts')
  await second.stop()
})
