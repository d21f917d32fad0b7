#!/usr/bin/env node
// Metadata endpoint benchmark for hubd (issue 3; see bench/README.md, section "metadata").
//
// Builds, through hubd's own HTTP API:
//   * one big repo (admin/big): 10,000 files in 100 folders (dNN/fNNNN.txt, file i in folder i % 100),
//     written by 10 commits of 1,000 files, then small one-file commits up to 1,000 commits on main
//     (the initial commit included);
//   * small repos (admin/r00001 …) up to 10,000 repos on the server in all.
// Then restarts hubd on that data and loads it, anonymous, at 50 connections from 127.0.0.1, each
// load bounded in time, interleaved with a bare Fastify hello-JSON route served by a child process:
//   resolve (HEAD, and GET of the same 8-byte file), repo info, tree of one folder, recursive tree
//   (first page), commits (first page), and two /api/models?search= listings.
// GET loads use wrk (apt: `apt-get install -y wrk`). wrk cannot send HEAD (it waits for the body a
// HEAD answer announces but never sends), so HEAD loads use ab (apt: apache2-utils), against hello's
// HEAD too. GET loads send `Accept-Encoding: gzip, deflate`, as requests, httpx and undici's fetch
// do (so hubd may answer big JSON gzipped); repo info is also measured without it, for reference.
// Prints req/s and p99 per endpoint (median of the runs) and checks the targets: resolve
// ≥ 0.5× hello's req/s with p99 < 10 ms, every other endpoint p99 < 20 ms.
//
// Usage: node bench/metadata.mjs [--runs n (5)] [--duration s (10)] [--connections n (50)] [--threads n (2)]
//          [--repos n (10000)] [--commits n (1000)] [--concurrency n (8)] [--data dir] [--json file]
//          [--accept-encoding value ('gzip, deflate'; '' sends none)] [--hubd label=path/to/dist/server/main.js]...
//   Requires `npm run build` first. Everything lives in a fresh folder under /tmp, removed at the
//   end; with --data DIR the built data is kept in DIR and reused by later runs with the same sizes.
//   Talks to 127.0.0.1 only; every load is bounded by --duration.
//
// Plain Node ≥ 20 ESM, no dependencies beyond the project's own (fastify, for the hello server).

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  HOST,
  ROOT,
  TOKEN,
  cleanup,
  cpuSeconds,
  fmt,
  log,
  median,
  removeOnCleanup,
  request as plainRequest,
  rssSampler,
  sleep,
  startChild,
  startHubd,
  startPortPrinter,
  stopChild,
} from './lib.mjs'

const SELF = fileURLToPath(import.meta.url)
const FILES = 10_000
const FOLDERS = 100
const BIG_COMMITS = 10 // the files arrive in this many commits of FILES / BIG_COMMITS files
const BIG = 'big'
const DATA_VERSION = 1

// ───────────────────────────── hello server (child process mode) ─────────────────────────────

/** The baseline: a bare Fastify app answering one small JSON object, no logging, no hooks. */
async function helloServer() {
  const { default: Fastify } = await import('fastify')
  const app = Fastify({ logger: false })
  app.get('/hello', async () => ({ hello: 'world' }))
  await app.listen({ port: 0, host: HOST })
  process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`)
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
}

// ─────────────────────────────────────────── helpers ───────────────────────────────────────────

function parseArgs(argv) {
  const opts = {
    runs: 5,
    duration: 10,
    connections: 50,
    threads: 2,
    repos: 10_000,
    commits: 1000,
    concurrency: 8,
    acceptEncoding: 'gzip, deflate',
    data: null,
    json: null,
    hubd: [],
  }
  const ints = { '--runs': 'runs', '--duration': 'duration', '--connections': 'connections', '--threads': 'threads', '--repos': 'repos', '--commits': 'commits', '--concurrency': 'concurrency' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a in ints) {
      const n = Number(val())
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} must be a whole number ≥ 1`)
      opts[ints[a]] = n
    } else if (a === '--data') opts.data = path.resolve(val())
    else if (a === '--json') opts.json = val()
    else if (a === '--accept-encoding') opts.acceptEncoding = val()
    else if (a === '--hubd') {
      const m = /^([\w.-]+)=(.+)$/.exec(val())
      if (!m) throw new Error('--hubd takes label=path/to/dist/server/main.js')
      opts.hubd.push({ label: m[1], main: path.resolve(m[2]) })
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(
        'usage: node bench/metadata.mjs [--runs n (5)] [--duration s (10)] [--connections n (50)] [--threads n (2)]\n' +
          '                               [--repos n (10000)] [--commits n (1000)] [--concurrency n (8)]\n' +
          '                               [--data dir (keep/reuse the built data)] [--json out.json]\n' +
          "                               [--accept-encoding value ('gzip, deflate'; '' sends none)]\n" +
          '                               [--hubd label=path/to/main.js]...  (several: compare builds, interleaved)\n',
      )
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  if (opts.commits < BIG_COMMITS + 1) throw new Error(`--commits must be at least ${BIG_COMMITS + 1}`)
  if (opts.hubd.length === 0) opts.hubd.push({ label: 'hubd', main: path.join(ROOT, 'dist/server/main.js') })
  return opts
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

/** A small request over a keep-alive agent; resolves { status, headers, body }. */
function request(port, method, urlPath, opts = {}) {
  return plainRequest(port, method, urlPath, { ...opts, agent })
}

async function ok(port, method, urlPath, opts) {
  const r = await request(port, method, urlPath, opts)
  if (r.status !== 200) throw new Error(`${method} ${urlPath}: ${r.status} ${r.body.slice(0, 500)}`)
  return r
}

const startHello = () => startPortPrinter([SELF, '--hello-server'], 'hello')

/**
 * Waits until none of `pids` was busy for 300 ms (at most 10 s): a server may still be working
 * through requests a load left queued, which must not weigh on the next load.
 */
async function settle(pids) {
  const deadline = Date.now() + 10_000
  let last = pids.map(cpuSeconds)
  let quietSince = Date.now()
  while (Date.now() < deadline) {
    await sleep(100)
    const now = pids.map(cpuSeconds)
    // One clock tick (10 ms) per 100 ms is idle timers, not queued work.
    if (now.some((v, i) => v - last[i] > 0.011)) quietSince = Date.now()
    last = now
    if (Date.now() - quietSince >= 300) return
  }
}

const pad = (n, w) => String(n).padStart(w, '0')

/** Runs `n` jobs, `width` at a time; `job(i)` for i in [0, n). Reports progress every ~10%. */
async function pool(n, width, job, what) {
  let next = 0
  let done = 0
  const t0 = Date.now()
  const step = Math.max(1, Math.ceil(n / 10))
  const worker = async () => {
    while (next < n) {
      const i = next++
      await job(i)
      done++
      if (done % step === 0 && done < n) log(`  ${what}: ${done}/${n} (${fmt(done / ((Date.now() - t0) / 1000), 1)}/s)`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker))
  return (Date.now() - t0) / 1000
}

// ─────────────────────────────────────────── the data ───────────────────────────────────────────

const filePath = (i) => `d${pad(i % FOLDERS, 2)}/f${pad(i, 4)}.txt`
const b64 = (s) => Buffer.from(s).toString('base64')

function commitBody(summary, files) {
  const lines = [JSON.stringify({ key: 'header', value: { summary } })]
  for (const [p, content] of files) lines.push(JSON.stringify({ key: 'file', value: { path: p, content: b64(content), encoding: 'base64' } }))
  return lines.join('\n') + '\n'
}

async function createRepo(port, name) {
  await ok(port, 'POST', '/api/repos/create', {
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  })
}

async function commit(port, repo, body) {
  await ok(port, 'POST', `/api/models/admin/${repo}/commit/main`, {
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-ndjson' },
    body,
  })
}

/** Builds the data set into `dataDir` with a hubd of its own; returns the timings. */
async function buildData(main, dataDir, opts) {
  const hubd = await startHubd(main, dataDir, { label: 'builder' })
  const times = {}
  try {
    let t0 = Date.now()
    await createRepo(hubd.port, BIG)
    const per = FILES / BIG_COMMITS
    for (let k = 0; k < BIG_COMMITS; k++) {
      const files = []
      for (let i = k * per; i < (k + 1) * per; i++) files.push([filePath(i), `file ${i}\n`])
      await commit(hubd.port, BIG, commitBody(`add files ${k * per}-${(k + 1) * per - 1}`, files))
    }
    times.bigCommits = (Date.now() - t0) / 1000
    log(`big repo: ${FILES} files in ${BIG_COMMITS} commits in ${fmt(times.bigCommits, 1)} s`)

    // One-file commits (each edits an existing file) up to opts.commits on main, initial commit
    // included, one at a time (the server serialises writers of a repo anyway). A 5xx is a server
    // bug worth seeing (hubd packs the repo in the background meanwhile): it is logged and counted,
    // and the commit is retried unless it landed (X-Total-Count says which).
    const small = opts.commits - 1 - BIG_COMMITS
    const total = async () => Number((await ok(hubd.port, 'GET', `/api/models/admin/${BIG}/commits/main?limit=1`)).headers['x-total-count'])
    times.serverErrors = []
    t0 = Date.now()
    for (let j = 0; j < small; j++) {
      const i = (j * 7919) % FILES
      const body = commitBody(`edit ${filePath(i)} (${j})`, [[filePath(i), `file ${i}, edit ${j}\n`]])
      for (let attempt = 1; ; attempt++) {
        const r = await request(hubd.port, 'POST', `/api/models/admin/${BIG}/commit/main`, {
          headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-ndjson' },
          body,
        })
        if (r.status === 200) break
        if (r.status < 500 || attempt >= 3) throw new Error(`commit ${j}: ${r.status} ${r.body.slice(0, 500)}`)
        const landed = (await total()) === 1 + BIG_COMMITS + j + 1
        times.serverErrors.push({ commit: j, status: r.status, landed, log: hubd.log().split('\n').filter((l) => l.includes('"level":50')).pop()?.slice(0, 600) })
        log(`  small commit ${j}: ${r.status} ${r.body.slice(0, 200)} (${landed ? 'it landed' : 'retrying'})`)
        if (landed) break
      }
      if ((j + 1) % Math.ceil(small / 10) === 0 && j + 1 < small) log(`  small commits: ${j + 1}/${small} (${fmt((j + 1) / ((Date.now() - t0) / 1000), 1)}/s)`)
    }
    times.smallCommits = (Date.now() - t0) / 1000
    times.smallCommitCount = small
    log(`big repo: ${small} one-file commits in ${fmt(times.smallCommits, 1)} s (${fmt(small / times.smallCommits, 1)}/s)`)

    const others = opts.repos - 1
    times.createCount = others
    times.createConcurrency = opts.concurrency
    times.creates = await pool(others, opts.concurrency, (j) => createRepo(hubd.port, `r${pad(j + 1, 5)}`), 'repo creates')
    log(`created ${others} more repos, ${opts.concurrency} at a time, in ${fmt(times.creates, 1)} s (${fmt(others / times.creates, 1)}/s)`)
  } catch (err) {
    err.message += `\n--- ${hubd.name} log tail ---\n${hubd.log()}`
    throw err
  } finally {
    // SIGTERM: hubd waits for background repacks before it exits.
    const t0 = Date.now()
    await stopChild(hubd)
    times.stop = (Date.now() - t0) / 1000
  }
  return times
}

// ─────────────────────────────────────────── the load ───────────────────────────────────────────

/** How many of the small repos (admin/r00001 …) a search term matches. */
function matching(term, opts) {
  let n = 0
  for (let j = 1; j < opts.repos; j++) if (`admin/r${pad(j, 5)}`.includes(term)) n++
  return n
}

/**
 * The endpoints measured, anonymous (every repo is public). `check` validates one answer before
 * any load (true, or what is wrong); `target` is issue 3's.
 */
function endpoints() {
  const repo = `admin/${BIG}`
  const json = (r) => JSON.parse(r.body)
  const resolvePath = `/${repo}/resolve/main/d42/f0042.txt`
  const resolveCheck = (r) =>
    (r.headers['x-repo-commit']?.length === 40 && r.headers['content-length'] === String(Buffer.byteLength('file 42\n'))) ||
    `headers ${JSON.stringify(r.headers)}`
  const resolveTarget = { ratio: 0.5, p99: 10 }
  const p99 = { p99: 20 }
  const count = (n) => (r) => json(r).length === n || `${json(r).length} entries, expected ${n}`
  const siblings = (r) => json(r).siblings?.length === FILES + 1 || `${json(r).siblings?.length} siblings`
  return [
    { key: 'resolve', name: 'resolve, HEAD', method: 'HEAD', path: resolvePath, target: resolveTarget, check: resolveCheck },
    // For reference (the issue's target is HEAD's): a GET of the same small file, which also sends the blob.
    { key: 'resolveGet', name: 'resolve, GET (8-byte file)', method: 'GET', path: resolvePath, check: resolveCheck },
    { key: 'info', name: 'repo info (10,001 siblings)', method: 'GET', path: `/api/models/${repo}`, target: p99, check: siblings },
    // For reference (no target): the same without Accept-Encoding, as wrk sends by default.
    { key: 'infoPlain', name: 'repo info, no Accept-Encoding', method: 'GET', path: `/api/models/${repo}`, acceptEncoding: '', check: siblings },
    { key: 'treeDir', name: 'tree, one folder (100)', method: 'GET', path: `/api/models/${repo}/tree/main/d42`, target: p99, check: count(FILES / FOLDERS) },
    {
      key: 'treeRec',
      name: 'tree, recursive, 1st page (1,000)',
      method: 'GET',
      path: `/api/models/${repo}/tree/main?recursive=true`,
      target: p99,
      check: (r) => (json(r).length === 1000 && /rel="next"/.test(r.headers.link ?? '')) || `${json(r).length} entries, link ${r.headers.link}`,
    },
    {
      key: 'commits',
      name: 'commits, 1st page (50)',
      method: 'GET',
      path: `/api/models/${repo}/commits/main`,
      target: p99,
      check: (r, opts) =>
        (json(r).length === Math.min(50, opts.commits) && r.headers['x-total-count'] === String(opts.commits)) ||
        `${json(r).length} commits, X-Total-Count ${r.headers['x-total-count']}`,
    },
    { key: 'search1', name: 'list ?search=r0042', method: 'GET', path: '/api/models?search=r0042', target: p99, check: (r, o) => count(Math.min(100, matching('r0042', o)))(r) },
    { key: 'search2', name: 'list ?search=r00&limit=100', method: 'GET', path: '/api/models?search=r00&limit=100', target: p99, check: (r, o) => count(Math.min(100, matching('r00', o)))(r) },
  ]
}

/** The wrk script: prints the summary as one JSON line (latencies in µs). */
function wrkScript(dir) {
  const file = path.join(dir, 'wrk-summary.lua')
  fs.writeFileSync(
    file,
    `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`,
  )
  return file
}

/** Runs a load tool to completion (killed if it overruns by 30 s); resolves its output. */
async function runTool(cmd, args, seconds) {
  const c = startChild(args, process.env, cmd, { command: cmd })
  const spawnError = new Promise((_, reject) => c.child.on('error', reject))
  const kill = setTimeout(() => c.child.kill('SIGKILL'), (seconds + 30) * 1000)
  const { code } = await Promise.race([c.exited, spawnError]).finally(() => clearTimeout(kill))
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${code}): ${c.log().slice(-2000)}`)
  return c.log()
}

/** One bounded GET load with wrk; resolves { rps, p50, p99, max (ms), errors, bytesPerReq }. */
async function wrkLoad(url, opts, seconds, acceptEncoding) {
  const args = ['-t', String(opts.threads), '-c', String(opts.connections), '-d', `${seconds}s`, '--timeout', '5s', '-s', opts.wrkScript, url]
  if (acceptEncoding) args.unshift('-H', `Accept-Encoding: ${acceptEncoding}`)
  const out = await runTool('wrk', args, seconds)
  const m = /WRKJSON (\{.*\})/.exec(out)
  if (!m) throw new Error(`wrk printed no summary: ${out}`)
  const s = JSON.parse(m[1])
  return {
    rps: s.requests / (s.duration_us / 1e6),
    p50: s.p50 / 1000,
    p99: s.p99 / 1000,
    max: s.max / 1000,
    errors: s.connect + s.read + s.write + s.status + s.timeout,
    requests: s.requests,
    bytesPerReq: s.requests ? s.bytes / s.requests : 0,
  }
}

/**
 * One bounded HEAD load with ab (apache2-utils): wrk cannot do HEAD (its parser waits for the
 * Content-Length bytes a HEAD answer never sends). ab is single-threaded and reports whole ms.
 */
async function abLoad(url, opts, seconds) {
  // -t before -n: -t alone caps the run at 50,000 requests.
  const args = ['-i', '-k', '-q', '-c', String(opts.connections), '-t', String(seconds), '-n', '100000000', '-s', '5', url]
  const out = await runTool('ab', args, seconds)
  const num = (re) => {
    const m = re.exec(out)
    return m ? Number(m[1]) : NaN
  }
  const requests = num(/Complete requests:\s+(\d+)/)
  const rps = num(/Requests per second:\s+([\d.]+)/)
  if (!Number.isFinite(requests) || !Number.isFinite(rps)) throw new Error(`ab printed no summary: ${out}`)
  const non2xx = num(/Non-2xx responses:\s+(\d+)/)
  return {
    rps,
    p50: num(/^\s+50%\s+(\d+)/m),
    p99: num(/^\s+99%\s+(\d+)/m),
    max: num(/^\s+100%\s+(\d+)/m),
    errors: num(/Failed requests:\s+(\d+)/) + (Number.isFinite(non2xx) ? non2xx : 0),
    requests,
    bytesPerReq: 0,
  }
}

function machineLine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
  return `${os.cpus().length} vCPU ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${os.release()}`
}

function toolVersion(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.error) return null
  return `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).find((l) => l) ?? cmd
}

// ───────────────────────────────────────────── main ─────────────────────────────────────────────

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const wrkVersion = toolVersion('wrk', ['--version'])
  if (!wrkVersion) {
    process.stderr.write('metadata bench: `wrk` was not found on PATH. Install it (Debian/Ubuntu: `apt-get install -y wrk`) and run again.\n')
    process.exit(2)
  }
  const abVersion = toolVersion('ab', ['-V'])
  if (!abVersion) {
    process.stderr.write(
      'metadata bench: `ab` was not found; HEAD resolve is measured with it (wrk cannot send HEAD): ' +
        '`apt-get install -y apache2-utils` to include it. Going on with GET resolve only.\n',
    )
  }
  for (const v of opts.hubd) if (!fs.existsSync(v.main)) throw new Error(`${v.main} missing: run \`npm run build\` first`)

  const tmpRoot = removeOnCleanup(fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-bench-metadata-')))
  opts.wrkScript = wrkScript(tmpRoot)
  const dataDir = opts.data ?? path.join(tmpRoot, 'data')
  const machine = machineLine()
  log(`node ${process.version}; ${machine}; ${wrkVersion}; ${abVersion ?? 'no ab'}`)
  log(`data ${dataDir}; ${opts.repos} repos; big repo ${FILES} files / ${FOLDERS} folders / ${opts.commits} commits`)

  // Build (or reuse) the data.
  const marker = path.join(dataDir, 'bench-metadata.json')
  const wanted = { version: DATA_VERSION, repos: opts.repos, commits: opts.commits, files: FILES, folders: FOLDERS }
  let build = null
  const existing = fs.existsSync(marker) ? JSON.parse(fs.readFileSync(marker, 'utf8')) : null
  if (existing && Object.entries(wanted).every(([k, v]) => existing[k] === v)) {
    build = existing.times
    log(`reusing the data in ${dataDir} (built ${existing.builtAt})`)
  } else {
    if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) throw new Error(`${dataDir} is not empty and holds no matching data set`)
    fs.mkdirSync(dataDir, { recursive: true })
    build = await buildData(opts.hubd[0].main, dataDir, opts)
    fs.writeFileSync(marker, JSON.stringify({ ...wanted, builtAt: new Date().toISOString(), times: build }, null, 2))
  }
  spawnSync('sync')

  // Servers for the measurement: every build under test (same data, read-only loads) and hello.
  const hello = await startHello()
  const servers = []
  for (const v of opts.hubd) servers.push(await startHubd(v.main, dataDir, { label: v.label }))
  const eps = endpoints()

  // Correctness of every answer, once, before any load.
  for (const s of servers) {
    for (const e of eps) {
      const r = await ok(s.port, e.method, e.path)
      const verdict = e.check(r, opts)
      if (verdict !== true) throw new Error(`${s.label} ${e.method} ${e.path}: unexpected answer: ${verdict}`)
    }
  }
  log('every endpoint answers 200 with the expected content')

  // What one run measures, in order. Each hubd endpoint names the hello load it is compared with
  // (same tool, same method); the pairs sit next to each other in every run, whichever the direction.
  const helloUrl = `http://${HOST}:${hello.port}/hello`
  const helloGet = { id: 'hello/GET', pid: hello.child.pid, server: 'hello', key: 'hello', method: 'GET', name: 'Fastify hello JSON, GET (wrk)', url: helloUrl, acceptEncoding: opts.acceptEncoding }
  const helloHead = { id: 'hello/HEAD', pid: hello.child.pid, server: 'hello', key: 'hello', method: 'HEAD', name: 'Fastify hello JSON, HEAD (ab)', url: helloUrl }
  const loads = []
  if (abVersion) loads.push(helloHead)
  for (const s of servers) {
    for (const e of eps) {
      if (e.method === 'HEAD' && !abVersion) continue
      const baseline = e.method === 'HEAD' ? helloHead : helloGet
      const acceptEncoding = e.acceptEncoding ?? opts.acceptEncoding
      loads.push({ id: `${s.label}/${e.key}`, pid: s.child.pid, server: s.label, key: e.key, method: e.method, name: e.name, url: `http://${HOST}:${s.port}${e.path}`, baseline, target: e.target, acceptEncoding })
      if (e.key === 'resolveGet' && s === servers[0]) loads.push(helloGet)
    }
  }
  // Server CPU per request (from /proc) is the steadier figure on a shared machine: it does not
  // count the time the server waits for a CPU.
  const measure = async (l, seconds) => {
    const cpu0 = cpuSeconds(l.pid)
    const rss = rssSampler(l.pid)
    const r = await (l.method === 'HEAD' ? abLoad(l.url, opts, seconds) : wrkLoad(l.url, opts, seconds, l.acceptEncoding))
    r.cpuUsPerReq = r.requests ? ((cpuSeconds(l.pid) - cpu0) / r.requests) * 1e6 : NaN
    r.rssMax = rss().max
    return r
  }

  // Warm-up: JIT, caches, the page cache — short and not recorded.
  const warm = Math.min(3, opts.duration)
  const pids = [hello.child.pid, ...servers.map((s) => s.child.pid)]
  for (const l of loads) {
    await settle(pids)
    await measure(l, warm)
  }
  log(`warmed up (${warm} s per load)`)
  // The answers again, as the loads ask for them (gzip copies are made on first demand).
  const encoded = []
  for (const s of servers) {
    for (const e of eps) {
      const enc = e.acceptEncoding ?? opts.acceptEncoding
      if (e.method !== 'GET' || !enc) continue
      const r = await ok(s.port, e.method, e.path, { headers: { 'accept-encoding': enc } })
      const verdict = e.check(r, opts)
      if (verdict !== true) throw new Error(`${s.label} ${e.method} ${e.path} (Accept-Encoding: ${enc}): unexpected answer: ${verdict}`)
      if (r.headers['content-encoding']) encoded.push(`${e.key} ${r.headers['content-encoding']}`)
    }
  }
  log(`answers with Accept-Encoding: ${opts.acceptEncoding || '(none)'} check out; encoded: ${encoded.join(', ') || 'none'}`)

  /** results[load id] = [per-run result] */
  const results = {}
  const t0 = Date.now()
  for (let run = 1; run <= opts.runs; run++) {
    const order = run % 2 ? loads : [...loads].reverse()
    const parts = []
    for (const l of order) {
      await settle(pids)
      const r = await measure(l, opts.duration)
      ;(results[l.id] ??= []).push(r)
      parts.push(`${l.id} ${l.method} ${fmt(r.rps)}/s p99 ${fmt(r.p99, 1)}ms ${fmt(r.cpuUsPerReq)}µs${r.errors ? ` ERRORS ${r.errors}` : ''}`)
    }
    log(`run ${run}/${opts.runs} (load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}): ${parts.join(' · ')}`)
  }
  log(`measured in ${fmt((Date.now() - t0) / 1000)} s`)
  for (const s of servers) await stopChild(s)
  await stopChild(hello)

  // Summary: medians over the runs; "× hello" is the median of the per-run ratios.
  const rows = loads.map((l) => {
    const rs = results[l.id]
    const base = l.baseline ? results[l.baseline.id] : null
    const row = {
      id: l.id,
      server: l.server,
      key: l.key,
      method: l.method,
      name: l.name,
      tool: l.method === 'HEAD' ? 'ab' : 'wrk',
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      p99Runs: rs.map((r) => r.p99),
      rpsRuns: rs.map((r) => r.rps),
      ratio: base ? median(rs.map((r, i) => r.rps / base[i].rps)) : null,
      cpuUs: median(rs.map((r) => r.cpuUsPerReq)),
      cpuRatio: base ? median(rs.map((r, i) => r.cpuUsPerReq / base[i].cpuUsPerReq)) : null,
      errors: rs.reduce((n, r) => n + r.errors, 0),
      kibPerResp: median(rs.map((r) => r.bytesPerReq)) / 1024,
      rssMaxMiB: Math.max(...rs.map((r) => r.rssMax ?? NaN)) / 2 ** 20,
      target: l.target ?? null,
      met: null,
    }
    if (row.target) {
      row.met = row.p99 < row.target.p99 && (row.target.ratio === undefined || row.ratio >= row.target.ratio) && row.errors === 0
    }
    return row
  })

  const out = []
  out.push('')
  out.push(`node ${process.version} · ${machine}`)
  out.push(`${wrkVersion} · ${abVersion ?? 'ab missing: no HEAD load'}`)
  out.push(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (other processes share the machine)`)
  out.push(
    `${opts.connections} connections (wrk -t${opts.threads}; ab -k), ${opts.duration} s per load, anonymous, 127.0.0.1, ` +
      `GETs with Accept-Encoding: ${opts.acceptEncoding || '(none)'} unless said; ` +
      `median of ${opts.runs} interleaved run(s) after ${warm} s warm-up per load; ` +
      `${opts.repos} repos, big repo ${FILES} files / ${FOLDERS} folders / ${opts.commits} commits`,
  )
  out.push('')
  out.push('| server | endpoint | tool | req/s | × hello | p50 ms | p99 ms | p99 per run (ms) | server CPU µs/req (× hello) | KiB/resp | RSS max MiB | target |')
  out.push('|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|')
  for (const r of rows) {
    const target = !r.target
      ? '—'
      : `${r.target.ratio !== undefined ? `≥ ${r.target.ratio}× hello, ` : ''}p99 < ${r.target.p99} ms: ${r.met ? 'met' : 'MISSED'}${r.errors ? ` (${r.errors} errors)` : ''}`
    const d = r.tool === 'ab' ? 0 : 2
    out.push(
      `| ${r.server} | ${r.name} | ${r.tool} | ${fmt(r.rps)} | ${r.ratio === null ? '1' : fmt(r.ratio, 2)} | ${fmt(r.p50, d)} | ${fmt(r.p99, d)} | ` +
        `${r.p99Runs.map((x) => fmt(x, d === 0 ? 0 : 1)).join(' ')} | ${fmt(r.cpuUs)}${r.cpuRatio === null ? '' : ` (${fmt(r.cpuRatio, 1)}×)`} | ` +
        `${r.tool === 'ab' ? '—' : fmt(r.kibPerResp, 1)} | ${fmt(r.rssMaxMiB)} | ${target} |`,
    )
  }
  out.push('')
  out.push('× hello: median of the per-run ratios to the hello load of the same tool and method, measured next to it.')
  out.push('ab reports whole milliseconds. KiB/resp: response bytes (headers included) per request, from wrk.')
  out.push('Server CPU µs/req: the server process\'s user+system CPU during the load (/proc) over the requests served.')
  if (build) {
    out.push(
      `Data build (over HTTP, one hubd): ${FILES} files in ${BIG_COMMITS} commits ${fmt(build.bigCommits, 1)} s; ` +
        `${build.smallCommitCount} one-file commits ${fmt(build.smallCommits, 1)} s (${fmt(build.smallCommitCount / build.smallCommits, 2)}/s); ` +
        `${build.createCount} repo creates, ${build.createConcurrency} at a time, ${fmt(build.creates, 1)} s (${fmt(build.createCount / build.creates, 1)}/s); ` +
        `stopping the builder (waits for repacks) ${fmt(build.stop, 1)} s.`,
    )
    if (build.serverErrors?.length) {
      out.push(
        `Server errors during the build: ${build.serverErrors.length} (commits ${build.serverErrors.map((e) => `${e.commit}: ${e.status}${e.landed ? ', landed' : ', retried'}`).join('; ')}); ` +
          `last error logged: ${build.serverErrors.at(-1).log ?? '—'}`,
      )
    }
  }
  for (const s of servers) {
    const mine = rows.filter((r) => r.server === s.label && r.target)
    out.push(`${s.label}: all targets met: ${mine.every((r) => r.met) ? 'yes' : 'NO'}${abVersion ? '' : ' (HEAD resolve not measured)'}`)
  }
  process.stdout.write(out.join('\n') + '\n')

  if (opts.json) {
    const { wrkScript: _, ...shown } = opts
    fs.writeFileSync(
      opts.json,
      JSON.stringify({ node: process.version, machine, wrk: wrkVersion, ab: abVersion, opts: shown, build, rows, results }, null, 2),
    )
  }
  await cleanup()
}

// Entry point (last, so every module-level binding above is initialised).
if (process.argv[2] === '--hello-server') {
  helloServer().catch((err) => {
    process.stderr.write(`hello server: ${err?.stack ?? err}\n`)
    process.exit(1)
  })
} else {
  main().catch(async (err) => {
    process.stderr.write(`metadata bench: ${err?.stack ?? err}\n`)
    await cleanup()
    process.exit(1)
  })
}
