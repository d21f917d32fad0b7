#!/usr/bin/env node
// LFS throughput benchmark for hubd (see bench/README.md).
//
// Uploads and downloads one large random file through hubd's real endpoints (LFS batch → signed
// PUT; resolve GET whole and a Range) and, in the same run and on the same file, through two
// minimal Node `http` servers that give the ceilings:
//   * ingest ceiling: streams a request body to disk (no hash, no fsync);
//   * download ceiling: streams the file to the response in 1 MiB reads.
// Each hubd phase is paired with the same phase against a ceiling, measured just before it; runs
// interleave the (build, fsync) pairs and the script reports medians plus the per-run ratios. Each
// (run, build, fsync) gets a fresh hubd on a fresh data dir (the batch would answer "present" to
// the admin for an oid stored in any repo). `sync` runs before uploads and downloads so both sides
// start without dirty pages. Server RSS is sampled from /proc/<pid>/status every 100 ms during each
// phase ("growth" = max VmRSS − VmRSS at phase start); server CPU from /proc/<pid>/stat.
//
// Usage: node bench/lfs-throughput.mjs [--size MiB (2048)] [--runs n (5)] [--fsync both|true|false]
//          [--json file] [--timeout-min 90] [--hubd label=path/to/dist/server/main.js]...
//   Requires `npm run build` first (default build: dist/server/main.js; several --hubd compare
//   builds in the same runs). Everything lives in a fresh folder under /tmp (removed at the end),
//   it talks to 127.0.0.1 only and gives up after --timeout-min. BENCH_DEBUG=1 logs each phase.
//
// Plain Node ≥ 20 ESM, no dependencies.

import { spawnSync } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
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
  request,
  rssSampler,
  startHubd as startHubdWith,
  startPortPrinter,
  stopChild as stopChildAfter,
} from './lib.mjs'

const MiB = 1024 * 1024
const SELF = fileURLToPath(import.meta.url)

// ───────────────────────────── ceiling server (child process mode) ─────────────────────────────

/**
 * The ceilings: the least a Node http server can do for the same job.
 *   PUT /ingest   → pipeline(req, fs.createWriteStream(sinkFile)); 200 when the data is written.
 *   GET /download → fs.createReadStream(file, { highWaterMark: 1 MiB }) piped to the response,
 *                   with single-range support (`bytes=a-b`) so Range requests have a ceiling too.
 */
function ceilingServer(file, sinkFile) {
  const size = fs.statSync(file).size
  // requestTimeout 0 as in Fastify (Node's own default would cut a slow 2 GiB upload at 300 s).
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    if (req.method === 'PUT' && req.url === '/ingest') {
      pipeline(req, fs.createWriteStream(sinkFile)).then(
        () => res.writeHead(200, { 'Content-Length': 2 }).end('{}'),
        (err) => res.writeHead(500).end(String(err)),
      )
      return
    }
    if (req.method === 'GET' && req.url === '/download') {
      let start = 0
      let end = size - 1
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
      if (m) {
        start = Number(m[1])
        end = Math.min(Number(m[2]), size - 1)
        res.writeHead(206, { 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` })
      } else {
        res.writeHead(200, { 'Content-Length': size })
      }
      fs.createReadStream(file, { start, end, highWaterMark: MiB }).pipe(res)
      return
    }
    res.writeHead(404).end()
  })
  server.listen(0, HOST, () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`))
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}

// ─────────────────────────────────────────── helpers ───────────────────────────────────────────

function parseArgs(argv) {
  const opts = { sizeMiB: 2048, runs: 5, fsync: 'both', json: null, hubd: [], timeoutMin: 90 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--size') opts.sizeMiB = Number(val())
    else if (a === '--runs') opts.runs = Number(val())
    else if (a === '--fsync') opts.fsync = val()
    else if (a === '--json') opts.json = val()
    else if (a === '--timeout-min') opts.timeoutMin = Number(val())
    else if (a === '--hubd') {
      const m = /^([\w.-]+)=(.+)$/.exec(val())
      if (!m) throw new Error('--hubd takes label=path/to/dist/server/main.js')
      opts.hubd.push({ label: m[1], main: path.resolve(m[2]) })
    }
    else if (a === '-h' || a === '--help') {
      process.stdout.write(
        'usage: node bench/lfs-throughput.mjs [--size MiB (2048)] [--runs n (5)] [--fsync both|true|false] [--json out.json] [--timeout-min 90]\n' +
          '                                     [--hubd label=path/to/main.js]...  (several: compare builds, interleaved)\n',
      )
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  if (!Number.isInteger(opts.sizeMiB) || opts.sizeMiB < 2) throw new Error('--size must be a whole number of MiB ≥ 2')
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error('--runs must be a whole number ≥ 1')
  if (!['both', 'true', 'false'].includes(opts.fsync)) throw new Error('--fsync must be both, true or false')
  if (opts.hubd.length === 0) opts.hubd.push({ label: 'hubd', main: path.join(ROOT, 'dist/server/main.js') })
  return opts
}

let tmpRoot = null

/** Writes `size` random bytes (fresh randomness for every 16 MiB, one reused buffer) and hashes them. */
function generateFile(file, size) {
  const buf = Buffer.allocUnsafe(16 * MiB)
  const hash = createHash('sha256')
  const fd = fs.openSync(file, 'w')
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, buf.length)
      const chunk = buf.subarray(0, n)
      randomFillSync(chunk)
      hash.update(chunk)
      for (let off = 0; off < n; ) off += fs.writeSync(fd, chunk, off, n - off)
      left -= n
    }
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest('hex')
}

/** Streams `file` as the body of a PUT (Content-Length set); resolves seconds until the response ended. */
function timedPut(port, urlPath, file, size) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const req = http.request(
      {
        host: HOST,
        port,
        method: 'PUT',
        path: urlPath,
        agent: false,
        timeout: 600_000,
        headers: { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' },
      },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const secs = Number(process.hrtime.bigint() - t0) / 1e9
          if (res.statusCode !== 200) reject(new Error(`PUT ${urlPath}: ${res.statusCode} ${Buffer.concat(chunks)}`))
          else resolve(secs)
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`PUT ${urlPath}: timed out`)))
    req.on('error', reject)
    const src = fs.createReadStream(file, { highWaterMark: MiB })
    src.on('error', (err) => req.destroy(err))
    src.pipe(req)
  })
}

/** GETs `urlPath` and counts the bytes; resolves seconds until the last byte. */
function timedGet(port, urlPath, { range = null, expectStatus, expectBytes, expectContentRange = null }) {
  return new Promise((resolve, reject) => {
    const headers = { 'Accept-Encoding': 'identity', Authorization: `Bearer ${TOKEN}` }
    if (range) headers.Range = `bytes=${range[0]}-${range[1]}`
    const t0 = process.hrtime.bigint()
    const req = http.get({ host: HOST, port, path: urlPath, headers, agent: false, timeout: 600_000 }, (res) => {
      let n = 0
      res.on('data', (c) => {
        n += c.length
      })
      res.on('end', () => {
        const secs = Number(process.hrtime.bigint() - t0) / 1e9
        if (res.statusCode !== expectStatus) return reject(new Error(`GET ${urlPath}: status ${res.statusCode}, expected ${expectStatus}`))
        if (n !== expectBytes) return reject(new Error(`GET ${urlPath}: ${n} bytes, expected ${expectBytes}`))
        if (expectContentRange && res.headers['content-range'] !== expectContentRange) {
          return reject(new Error(`GET ${urlPath}: Content-Range ${res.headers['content-range']}, expected ${expectContentRange}`))
        }
        resolve(secs)
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: timed out`)))
    req.on('error', reject)
  })
}

/** First bytes of a GET, for a content check outside the timed phases. */
function getBytes(port, urlPath, range) {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${TOKEN}`, Range: `bytes=${range[0]}-${range[1]}` }
    http
      .get({ host: HOST, port, path: urlPath, headers, agent: false, timeout: 30_000 }, (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve(Buffer.concat(chunks)))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}

function readSlice(file, start, length) {
  const buf = Buffer.alloc(length)
  const fd = fs.openSync(file, 'r')
  try {
    fs.readSync(fd, buf, 0, length, start)
  } finally {
    fs.closeSync(fd)
  }
  return buf
}

/** Flushes dirty pages left by earlier phases so every upload starts from the same writeback state. */
function settle() {
  spawnSync('sync')
}

/** Stops a child; hubd waits for background work, 15 s at most here. */
const stopChild = (c) => stopChildAfter(c, 15_000)

const startCeiling = (file, sinkFile) => startPortPrinter([SELF, '--ceiling-server', file, sinkFile], 'ceiling')

const startHubd = (main, dataDir, fsyncOn) =>
  startHubdWith(main, dataDir, { label: `fsync=${fsyncOn}`, env: { HUBD_FSYNC: fsyncOn ? 'true' : 'false' }, readyMs: 30_000 })

function mbps(bytes, secs) {
  return bytes / 1e6 / secs
}

const fmtMiB = (b) => (Number.isFinite(b) ? (b / MiB).toFixed(1) : '—')

// ──────────────────────────────────────────── phases ────────────────────────────────────────────

/** One hubd instance, fresh data dir: create repo → batch → PUT (timed) → commit → GET whole, GET range (timed). */
async function hubdRound({ main, fsyncOn, file, size, oid, range, ceiling, record, checkContent }) {
  const dataDir = fs.mkdtempSync(path.join(tmpRoot, `data-${fsyncOn ? 'fsync' : 'nofsync'}-`))
  const auth = { Authorization: `Bearer ${TOKEN}` }
  const hubd = await startHubd(main, dataDir, fsyncOn)
  const mode = fsyncOn ? 'fsync' : 'nofsync'
  try {
    const created = await request(hubd.port, 'POST', '/api/repos/create', {
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    })
    if (created.status !== 200) throw new Error(`repos/create: ${created.status} ${created.body}`)

    const batch = await request(hubd.port, 'POST', '/admin/bench.git/info/lfs/objects/batch', {
      headers: { ...auth, 'Content-Type': 'application/vnd.git-lfs+json', Accept: 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid, size }], hash_algo: 'sha256', ref: { name: 'main' } }),
    })
    if (batch.status !== 200) throw new Error(`batch: ${batch.status} ${batch.body}`)
    const href = JSON.parse(batch.body).objects?.[0]?.actions?.upload?.href
    if (!href) throw new Error(`batch answered no upload action (object already present?): ${batch.body}`)
    const url = new URL(href)
    if (url.hostname !== HOST || Number(url.port) !== hubd.port) throw new Error(`upload href points elsewhere: ${href}`)

    // Upload: ceiling first, then hubd, back to back from the same writeback state.
    settle()
    record(`ceiling-upload`, mode, await measure(ceiling, () => timedPut(ceiling.port, '/ingest', file, size), size))
    fs.rmSync(ceiling.sinkFile, { force: true })
    settle()
    record(`hubd-upload`, mode, await measure(hubd, () => timedPut(hubd.port, url.pathname + url.search, file, size), size))

    const commit = await request(hubd.port, 'POST', '/api/models/admin/bench/commit/main', {
      headers: { ...auth, 'Content-Type': 'application/x-ndjson' },
      body:
        JSON.stringify({ key: 'header', value: { summary: 'bench' } }) +
        '\n' +
        JSON.stringify({ key: 'lfsFile', value: { path: 'big.bin', algo: 'sha256', oid, size } }) +
        '\n',
    })
    if (commit.status !== 200) throw new Error(`commit: ${commit.status} ${commit.body}`)
    const resolvePath = '/admin/bench/resolve/main/big.bin'

    if (checkContent) {
      // Untimed: the bytes served are the bytes uploaded (start, range start, end).
      for (const [a, b] of [[0, MiB - 1], [range[0], range[0] + MiB - 1], [size - MiB, size - 1]]) {
        const got = await getBytes(hubd.port, resolvePath, [a, b])
        if (!got.equals(readSlice(file, a, b - a + 1))) throw new Error(`content mismatch at bytes ${a}-${b}`)
      }
    }

    const rangeLen = range[1] - range[0] + 1
    const cr = `bytes ${range[0]}-${range[1]}/${size}`
    // Downloads read clean cached pages on both sides: write back what the upload left dirty.
    settle()
    record(`ceiling-get`, mode, await measure(ceiling, () => timedGet(ceiling.port, '/download', { expectStatus: 200, expectBytes: size }), size))
    record(`hubd-get`, mode, await measure(hubd, () => timedGet(hubd.port, resolvePath, { expectStatus: 200, expectBytes: size }), size))
    record(
      `ceiling-range`,
      mode,
      await measure(ceiling, () => timedGet(ceiling.port, '/download', { range, expectStatus: 206, expectBytes: rangeLen, expectContentRange: cr }), rangeLen),
    )
    record(
      `hubd-range`,
      mode,
      await measure(hubd, () => timedGet(hubd.port, resolvePath, { range, expectStatus: 206, expectBytes: rangeLen, expectContentRange: cr }), rangeLen),
    )
  } catch (err) {
    err.message += `\n--- ${hubd.name} log tail ---\n${hubd.log()}`
    throw err
  } finally {
    await stopChild(hubd)
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

async function measure(server, fn, bytes) {
  if (process.env.BENCH_DEBUG) log(`  measuring on ${server.name} (port ${server.port})`)
  const stop = rssSampler(server.child.pid)
  const cpu0 = cpuSeconds(server.child.pid)
  const secs = await fn()
  const cpu = cpuSeconds(server.child.pid) - cpu0
  const rss = stop()
  return { secs, mbps: mbps(bytes, secs), rssGrowth: rss.growth, rssStart: rss.start, cpuPerGB: cpu / (bytes / 1e9) }
}

// ───────────────────────────────────────────── main ─────────────────────────────────────────────

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  // Whatever happens, stop by ourselves: kill the servers, remove the temp folder, exit 1.
  setTimeout(async () => {
    process.stderr.write(`lfs-throughput: still running after ${opts.timeoutMin} min, giving up\n`)
    await cleanup()
    process.exit(1)
  }, opts.timeoutMin * 60_000).unref()
  const size = opts.sizeMiB * MiB
  const rangeLen = Math.min(512 * MiB, Math.floor(opts.sizeMiB / 2) * MiB)
  const rangeStart = Math.floor(opts.sizeMiB / 4) * MiB
  const range = [rangeStart, rangeStart + rangeLen - 1]
  const modes = opts.fsync === 'both' ? [true, false] : [opts.fsync === 'true']
  for (const v of opts.hubd) if (!fs.existsSync(v.main)) throw new Error(`${v.main} missing: run \`npm run build\` first`)

  tmpRoot = removeOnCleanup(fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-bench-')))
  const file = path.join(tmpRoot, 'source.bin')
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
  const machine = `${os.cpus().length} vCPU ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${os.release()}`
  log(`node ${process.version}; ${machine}`)
  log(`tmp ${tmpRoot}; file ${opts.sizeMiB} MiB; range bytes=${range[0]}-${range[1]} (${rangeLen / MiB} MiB); runs ${opts.runs}; fsync ${modes.join('/')}`)

  let t0 = Date.now()
  const oid = generateFile(file, size)
  log(`generated + hashed the file in ${((Date.now() - t0) / 1000).toFixed(1)} s, sha256 ${oid}`)

  const ceiling = await startCeiling(file, path.join(tmpRoot, 'ceiling-sink.bin'))
  ceiling.sinkFile = path.join(tmpRoot, 'ceiling-sink.bin')

  /** rows[phase][mode] = [{ run, mbps, secs, rssGrowth }] */
  const rows = {}
  const perRun = []
  t0 = Date.now()
  try {
    for (let run = 1; run <= opts.runs; run++) {
      // Interleave: every run visits each (build, fsync) pair, in reversed order on even runs.
      const pairs = opts.hubd.flatMap((v) => modes.map((fsyncOn) => ({ v, fsyncOn })))
      for (const { v, fsyncOn } of run % 2 ? pairs : pairs.reverse()) {
        const key = `${v.label}/${fsyncOn ? 'fsync' : 'nofsync'}`
        const line = { run, key }
        const record = (phase, _m, r) => {
          ;((rows[phase] ??= {})[key] ??= []).push({ run, ...r })
          line[phase] = r
        }
        await hubdRound({ main: v.main, fsyncOn, file, size, oid, range, ceiling, record, checkContent: run === 1 })
        perRun.push(line)
        log(
          `run ${run} ${key.padEnd(16)} ` +
            ['upload', 'get', 'range']
              .map((k) => {
                const h = line[`hubd-${k}`]
                const c = line[`ceiling-${k}`]
                return `${k} ${fmt(h.mbps)}/${fmt(c.mbps)} MB/s (${fmt(h.mbps / c.mbps, 2)}×, cpu ${fmt(h.cpuPerGB, 2)}/${fmt(c.cpuPerGB, 2)} s/GB, rss +${fmtMiB(h.rssGrowth)} MiB)`
              })
              .join('  '),
        )
      }
    }
  } finally {
    await stopChild(ceiling)
  }
  log(`measured in ${((Date.now() - t0) / 1000).toFixed(0)} s`)

  // Summary: medians of MB/s, of the per-run ratio hubd/ceiling, and the worst RSS growth.
  const targets = { upload: 0.8, get: 0.9, range: 0.9 }
  const summary = []
  for (const v of opts.hubd) {
    for (const fsyncOn of modes) {
      const key = `${v.label}/${fsyncOn ? 'fsync' : 'nofsync'}`
      for (const k of ['upload', 'get', 'range']) {
        const h = rows[`hubd-${k}`][key]
        const c = rows[`ceiling-${k}`][key]
        const ratios = h.map((r, i) => r.mbps / c[i].mbps)
        const rssGrowths = h.map((r) => r.rssGrowth)
        summary.push({
          build: v.label,
          fsync: fsyncOn,
          phase: k,
          hubdMBps: median(h.map((r) => r.mbps)),
          ceilingMBps: median(c.map((r) => r.mbps)),
          ratio: median(ratios),
          ratios,
          target: targets[k],
          rssGrowthMedianMiB: median(rssGrowths) / MiB,
          rssGrowthMaxMiB: Math.max(...rssGrowths) / MiB,
          ceilingRssGrowthMaxMiB: Math.max(...c.map((r) => r.rssGrowth)) / MiB,
          hubdCpuPerGB: median(h.map((r) => r.cpuPerGB)),
          ceilingCpuPerGB: median(c.map((r) => r.cpuPerGB)),
        })
      }
    }
  }

  const phaseName = { upload: 'upload (batch → PUT)', get: 'download, whole', range: `download, Range ${rangeLen / MiB} MiB` }
  const out = []
  out.push('')
  out.push(`node ${process.version} · ${machine}`)
  out.push(`${opts.sizeMiB} MiB file, Range ${rangeLen / MiB} MiB, median of ${opts.runs} interleaved run(s); MB = 10^6 bytes`)
  out.push('')
  out.push(
    '| build | fsync | phase | hubd MB/s | ceiling MB/s | hubd / ceiling | target | per-run ratios | server CPU s/GB hubd / ceiling | RSS growth MiB: hubd median / max (ceiling max) |',
  )
  out.push('|---|---|---|---:|---:|---:|---|---|---:|---:|')
  for (const s of summary) {
    out.push(
      `| ${s.build} | ${s.fsync} | ${phaseName[s.phase]} | ${fmt(s.hubdMBps)} | ${fmt(s.ceilingMBps)} | ${fmt(s.ratio, 2)}× | ` +
        `≥ ${s.target}× ${s.ratio >= s.target ? 'met' : 'MISSED'} | ${s.ratios.map((r) => fmt(r, 2)).join(' ')} | ` +
        `${fmt(s.hubdCpuPerGB, 2)} / ${fmt(s.ceilingCpuPerGB, 2)} | ` +
        `${fmt(s.rssGrowthMedianMiB, 1)} / ${fmt(s.rssGrowthMaxMiB, 1)} (${fmt(s.ceilingRssGrowthMaxMiB, 1)}) |`,
    )
  }
  out.push('')
  out.push('hubd / ceiling is the median of the per-run ratios (each hubd phase is paired with a ceiling phase run just before it).')
  for (const v of opts.hubd) {
    const rssOk = summary.filter((s) => s.build === v.label).every((s) => s.rssGrowthMaxMiB < 64)
    out.push(`${v.label}: RSS growth < 64 MiB in every phase: ${rssOk ? 'yes' : 'NO'}`)
  }
  process.stdout.write(out.join('\n') + '\n')

  if (opts.json) {
    fs.writeFileSync(
      opts.json,
      JSON.stringify({ node: process.version, machine, sizeMiB: opts.sizeMiB, rangeMiB: rangeLen / MiB, runs: opts.runs, builds: opts.hubd, summary, perRun }, null, 2),
    )
  }
  await cleanup()
}


// Entry point (last, so every module-level binding above is initialised).
if (process.argv[2] === '--ceiling-server') {
  ceilingServer(process.argv[3], process.argv[4])
} else {
  main().catch(async (err) => {
    process.stderr.write(`lfs-throughput: ${err?.stack ?? err}\n`)
    await cleanup()
    process.exit(1)
  })
}
