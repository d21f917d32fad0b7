// Shared helpers of the hubd benchmarks (bench/lfs-throughput.mjs, bench/metadata.mjs): child
// processes (hubd and the baseline servers), their CPU and RSS from /proc, small HTTP requests,
// medians and cleanup. Plain Node ≥ 20 ESM, no dependencies. Talks to 127.0.0.1 only.

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'

export const HOST = '127.0.0.1'
export const TOKEN = 'hf_benchadmintoken12345'
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export function log(msg) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

export const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—')

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

// ───────────────────────────── cleanup: children and temp folders ─────────────────────────────

const children = new Set()
const tmpDirs = new Set()

/** Kills every child still running and removes the temp folders; safe to call twice. */
export async function cleanup() {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true })
  tmpDirs.clear()
}

/** Removes `dir` on cleanup (a run's scratch folder). */
export function removeOnCleanup(dir) {
  tmpDirs.add(dir)
  return dir
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await cleanup()
    process.exit(130)
  })
}

// ─────────────────────────────────────── child processes ───────────────────────────────────────

/** Starts a process (node by default) with piped output, of which the last 8 KB are kept for errors. */
export function startChild(args, env, name, { command = process.execPath } = {}) {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  const keep = (d) => {
    out = (out + d).slice(-8000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  exited.then(() => children.delete(child))
  return { child, exited, log: () => out, name }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
export async function stopChild(c, graceMs = 30_000) {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return
  c.child.kill('SIGTERM')
  const t = setTimeout(() => c.child.kill('SIGKILL'), graceMs)
  await c.exited
  clearTimeout(t)
}

/**
 * Starts a baseline server: `node <script> ...args`, which prints `{"port":N}` on stdout once it
 * listens (the hello and ceiling servers are modes of the benchmark scripts themselves).
 */
export async function startPortPrinter(args, name) {
  const c = startChild(args, process.env, name)
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} server did not start: ${c.log()}`)), 15_000)
    c.child.stdout.on('data', () => {
      const m = /\{"port":(\d+)\}/.exec(c.log())
      if (m) {
        clearTimeout(t)
        resolve(Number(m[1]))
      }
    })
    c.exited.then(() => reject(new Error(`${name} server exited: ${c.log()}`)))
  })
  return { ...c, port }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, HOST, () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * Starts hubd (`main`: dist/server/main.js of a build) on `dataDir` at a free port of 127.0.0.1,
 * admin token TOKEN, log level warn, fsync off and rate limits off (a load from one IP would
 * otherwise be refused), `env` on top; resolves once it answers whoami.
 */
export async function startHubd(main, dataDir, { label = 'hubd', env = {}, readyMs = 60_000 } = {}) {
  const port = await freePort()
  const c = startChild(
    [main],
    {
      ...process.env,
      HUBD_DATA_DIR: dataDir,
      HUBD_PORT: String(port),
      HUBD_HOST: HOST,
      HUBD_ADMIN_TOKEN: TOKEN,
      HUBD_PUBLIC_URL: `http://${HOST}:${port}`,
      HUBD_LOG_LEVEL: 'warn',
      HUBD_FSYNC: 'false',
      HUBD_RATE_LIMIT_API: '0',
      HUBD_RATE_LIMIT_RESOLVE: '0',
      ...env,
    },
    `hubd ${label} (${main})`,
  )
  const deadline = Date.now() + readyMs
  for (;;) {
    if (c.child.exitCode !== null) throw new Error(`hubd exited at start (${c.child.exitCode}): ${c.log()}`)
    try {
      const r = await request(port, 'GET', '/api/whoami-v2', { headers: { Authorization: `Bearer ${TOKEN}` }, timeoutMs: 2000 })
      if (r.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`hubd did not become ready: ${c.log()}`)
    await sleep(100)
  }
  return { ...c, port, label }
}

// ─────────────────────────────────────────── requests ───────────────────────────────────────────

/** A small request to 127.0.0.1; resolves { status, headers, body (utf-8) }. */
export function request(port, method, urlPath, { headers = {}, body = null, timeoutMs = 120_000, agent = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path: urlPath, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        // Asked-for gzip comes back decoded, as clients see it.
        const raw = Buffer.concat(chunks)
        const body = res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw
        resolve({ status: res.statusCode, headers: res.headers, body: body.toString('utf8') })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

// ───────────────────────────────────── /proc: CPU and memory ─────────────────────────────────────

/** CPU seconds (user + system, all threads) a process has used so far; USER_HZ is 100 on Linux. */
export function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return NaN
  }
}

export function vmRssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/** Samples VmRSS every 100 ms until the returned function is called; it returns { start, max, growth } in bytes. */
export function rssSampler(pid) {
  const start = vmRssBytes(pid)
  let max = start
  const timer = setInterval(() => {
    const v = vmRssBytes(pid)
    if (v !== null && v > max) max = v
  }, 100)
  return () => {
    clearInterval(timer)
    const v = vmRssBytes(pid)
    if (v !== null && v > max) max = v
    return { start, max, growth: max - start }
  }
}
