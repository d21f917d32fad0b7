#!/usr/bin/env node
// git clone benchmark for hubd (see bench/README.md, section "git-clone").
//
// Builds, through hubd's HTTP commit API, the design study's "small" repository: 2,000 files of
// ~120 bytes in 20 folders, then 49 more commits that each edit 20 files and add one (50 API
// commits after the repo's initial commit). API commits leave loose objects; the 50th commit
// reaches HUBD_GIT_MAINTENANCE_WRITES=50, so hubd's maintenance packs the repository in the
// background; the script waits until no loose object is left.
//
// It then times, interleaved in the same run, `git clone` over HTTP from hubd and `git clone` over
// file:// of the very same bare repository (the same git, spawned locally: the ceiling), both with
// checkout and bare (transfer and indexing only), and prints medians and ratios. One HTTP and one
// file:// clone of the repository while still loose (before maintenance) are timed too, to show
// what maintenance buys.
//
// Usage: node bench/git-clone.mjs [--runs n] [--json file]
//   Requires `npm run build` first (runs dist/server/main.js) and git on PATH. Everything lives in
//   a fresh folder under /tmp (removed at the end) and talks to 127.0.0.1 only.
//
// Plain Node ≥ 20 ESM, no dependencies.

import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const HOST = '127.0.0.1'
const TOKEN = 'hf_benchadmintoken12345'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const FILES = 2000
const FOLDERS = 20
const COMMITS = 50

function parseArgs(argv) {
  const opts = { runs: 5, json: null }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') opts.runs = Number(argv[++i])
    else if (argv[i] === '--json') opts.json = argv[++i]
    else throw new Error(`unknown argument ${argv[i]}`)
  }
  return opts
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, HOST, () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** ~120-byte file content, different per (file, version). */
const content = (i, version) => `file ${i} version ${version} `.padEnd(118, '0123456789abcdef') + '\n'
const filePath = (i) => `dir${String(i % FOLDERS).padStart(2, '0')}/file${String(i).padStart(4, '0')}.txt`

async function apiCommit(base, summary, ops) {
  const lines = [{ key: 'header', value: { summary, description: '' } }, ...ops.map(([p, c]) => ({ key: 'file', value: { path: p, content: c, encoding: 'utf-8' } }))]
  const res = await fetch(`${base}/api/models/admin/bench/commit/main`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => JSON.stringify(l)).join('\n'),
  })
  if (res.status !== 200) throw new Error(`commit ${summary}: ${res.status} ${await res.text()}`)
  await res.arrayBuffer()
}

function looseObjects(gitdir) {
  let n = 0
  for (const d of fs.readdirSync(path.join(gitdir, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue
    try {
      n += fs.readdirSync(path.join(gitdir, 'objects', d)).length
    } catch {
      // prune-packed removes folders as it empties them.
    }
  }
  return n
}

function timedClone(env, url, dest, bare) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('git', ['clone', '-q', ...(bare ? ['--bare'] : []), url, dest], { env, encoding: 'utf8' })
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0) throw new Error(`git clone ${url} failed: ${r.stderr}`)
  fs.rmSync(dest, { recursive: true, force: true })
  return secs
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const mainJs = path.join(ROOT, 'dist/server/main.js')
  if (!fs.existsSync(mainJs)) throw new Error('dist/server/main.js is missing: run `npm run build` first')
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-bench-git-'))
  const home = path.join(work, 'home')
  fs.mkdirSync(home)
  const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }
  const port = await freePort()
  const base = `http://${HOST}:${port}`
  const server = spawn(process.execPath, [mainJs], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HUBD_DATA_DIR: path.join(work, 'data'),
      HUBD_PORT: String(port),
      HUBD_HOST: HOST,
      HUBD_PUBLIC_URL: base,
      HUBD_ADMIN_TOKEN: TOKEN,
      HUBD_LOG_LEVEL: 'warn',
      HUBD_FSYNC: 'false',
      HUBD_GIT_MAINTENANCE_WRITES: String(COMMITS),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`${base}/api/whoami-v2`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.ok, () => false)) break
      if (i > 200) throw new Error('hubd did not start')
      await new Promise((r) => setTimeout(r, 100))
    }
    const created = await fetch(`${base}/api/repos/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    })
    const { id } = await created.json()
    const gitdir = path.join(work, 'data/repos', id.slice(0, 2), `${id}.git`)

    const t0 = Date.now()
    await apiCommit(base, 'add 2,000 files', Array.from({ length: FILES }, (_, i) => [filePath(i), content(i, 0)]))
    let next = FILES
    for (let c = 1; c < COMMITS - 1; c++) {
      const ops = Array.from({ length: 20 }, (_, k) => {
        const i = (c * 37 + k * 101) % FILES
        return [filePath(i), content(i, c)]
      })
      ops.push([filePath(next), content(next++, c)])
      await apiCommit(base, `edit ${c}`, ops)
    }
    const buildSecs = (Date.now() - t0) / 1000
    const objects = Number(spawnSync('git', ['--git-dir', gitdir, 'rev-list', '--objects', '--all'], { env, encoding: 'utf8' }).stdout.trim().split('\n').length)

    // Before maintenance (49 API commits so far, under the threshold): everything is loose.
    const loose = looseObjects(gitdir)
    const looseHttp = timedClone(env, `${base}/admin/bench`, path.join(work, 'c'), false)
    const looseFile = timedClone(env, `file://${gitdir}`, path.join(work, 'c'), false)
    const looseHttpBare = timedClone(env, `${base}/admin/bench`, path.join(work, 'c.git'), true)
    const looseFileBare = timedClone(env, `file://${gitdir}`, path.join(work, 'c.git'), true)

    // The 50th API commit triggers maintenance; wait for it to pack everything.
    await apiCommit(base, `edit ${COMMITS - 1}`, [[filePath(next), content(next++, COMMITS)]])
    const m0 = Date.now()
    while (looseObjects(gitdir) > 0) {
      if (Date.now() - m0 > 120_000) throw new Error('maintenance did not pack the repository within 2 minutes')
      await new Promise((r) => setTimeout(r, 50))
    }
    // Wait for the repack process to finish writing (its pack appears before loose objects go).
    await new Promise((r) => setTimeout(r, 500))
    const packs = fs.readdirSync(path.join(gitdir, 'objects/pack')).filter((n) => n.endsWith('.pack')).length

    const rows = { http: [], file: [], httpBare: [], fileBare: [] }
    timedClone(env, `${base}/admin/bench`, path.join(work, 'c'), false) // warm-up
    for (let r = 0; r < opts.runs; r++) {
      // Alternate which goes first, so drift on a shared machine hits both alike.
      const order = r % 2 ? ['file', 'http'] : ['http', 'file']
      for (const kind of order) {
        const url = kind === 'http' ? `${base}/admin/bench` : `file://${gitdir}`
        rows[kind].push(timedClone(env, url, path.join(work, 'c'), false))
        rows[`${kind}Bare`].push(timedClone(env, url, path.join(work, 'c.git'), true))
      }
    }
    const result = {
      node: process.version,
      git: spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim(),
      cpu: `${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`,
      loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
      repo: { files: FILES + COMMITS - 1, apiCommits: COMMITS, objects, buildSecs },
      beforeMaintenance: { looseObjects: loose, httpSecs: looseHttp, fileSecs: looseFile, bareHttpSecs: looseHttpBare, bareFileSecs: looseFileBare },
      afterMaintenance: {
        packs,
        runs: opts.runs,
        cloneHttpSecs: median(rows.http),
        cloneFileSecs: median(rows.file),
        cloneRatio: median(rows.http) / median(rows.file),
        bareHttpSecs: median(rows.httpBare),
        bareFileSecs: median(rows.fileBare),
        bareRatio: median(rows.httpBare) / median(rows.fileBare),
        perRunCloneRatios: rows.http.map((h, i) => +(h / rows.file[i]).toFixed(2)),
      },
    }
    const f = (x) => `${x.toFixed(3)} s`
    console.log(`hubd git-clone bench — ${result.node}, ${result.git}, ${result.cpu}, load ${result.loadavg}`)
    console.log(`repo: ${result.repo.files} files, ${COMMITS} API commits, ${objects} objects (built in ${buildSecs.toFixed(1)} s)`)
    console.log(`before maintenance (${loose} loose objects): clone http ${f(looseHttp)}  file:// ${f(looseFile)}; --bare http ${f(looseHttpBare)}  file:// ${f(looseFileBare)}`)
    const a = result.afterMaintenance
    console.log(`after maintenance (${packs} pack, medians of ${opts.runs}):`)
    console.log(`  git clone         http ${f(a.cloneHttpSecs)}  file:// ${f(a.cloneFileSecs)}  ratio ${a.cloneRatio.toFixed(2)}  (per run ${a.perRunCloneRatios.join(' ')})`)
    console.log(`  git clone --bare  http ${f(a.bareHttpSecs)}  file:// ${f(a.bareFileSecs)}  ratio ${a.bareRatio.toFixed(2)}`)
    console.log(`target: clone within 1.3× of file:// → ${a.cloneRatio <= 1.3 ? 'met' : 'NOT met'}`)
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(result, null, 2))
  } finally {
    server.kill('SIGTERM')
    await new Promise((r) => server.once('exit', r))
    fs.rmSync(work, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
