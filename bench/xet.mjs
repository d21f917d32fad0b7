#!/usr/bin/env node
// Xet format benchmark for hubd (see bench/README.md, "xet").
//
// Builds ~1 GiB of xorbs (64 MiB each, chunks of 8–128 KiB, LZ4; every 4th xorb BG4+LZ4) from
// pseudo-random data that LZ4 compresses to about 0.7 (random literal runs + copies of earlier
// stretches) and measures, on exactly those chunks, the server's paths against the libraries:
//
//   * ingest: each xorb body, already received as 64 KiB pieces in memory, streamed into
//     ContentStore.putKeyed (over FsBlobDriver) with startXorbCheck (chunks verified in ~1 MiB batches on the pool's
//     worker threads, as many as cores up to 4; reported), wired as server/services/xet/uploads.ts does
//     (verify every chunk: decompress + keyed BLAKE3 + merkle check; write to a temp file; truncate,
//     rename). Reference: keyed BLAKE3 (hash-wasm, the hasher the verifier uses) of the same chunks'
//     unpacked bytes, chunk by chunk, measured right before or after each xorb (order alternates).
//     Shown too (no target): the same with the body read during the measurement in 64 KiB pieces on
//     the main thread, as libuv reads a socket (receiving included).
//   * reconstruction: one 1 GiB file made of all the xorbs' chunks, planned with planRange and
//     streamed by reconstructStream from ContentStore.readKeyed ranges (as xet/reads.ts does) into a
//     sink. Reference: LZ4 frame decompression (lz4-napi decompressFrameSync) of the same chunk
//     payloads, one call per chunk; shown too: lz4-napi's block decoder on the same blocks (what
//     hubd's frame parser calls). Reference and reconstruction alternate order from run to run.
//
// Reported: MB/s (10^6 UNPACKED bytes per s), the median over runs of the per-run ratio
// measured / reference (the machine's load hits both sides of a ratio alike), the same ratio from
// CPU time (process.cpuUsage, all threads), and RSS growth. Targets: ingest ≥ 0.6 × BLAKE3,
// reconstruction ≥ 0.6 × LZ4 frame decompression.
//
// Usage: node bench/xet.mjs [--size MiB (1024)] [--runs n (3)] [--fsync] [--json file]
//   Requires `npm run build` (imports dist/storage/…). Works in a fresh folder under /tmp, removed at
//   the end; gives up after 5 minutes. --fsync makes putKeyed fdatasync (HUBD_FSYNC's default);
//   without it the ingest figure is the CPU path, not the disk.

import { randomFillSync } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
import { cleanup, fmt, log, median, removeOnCleanup, ROOT } from './lib.mjs'

const MiB = 1024 * 1024
const XORB = 64 * MiB
const DIST = process.env.HUBD_BENCH_DIST ?? path.join(ROOT, 'dist/storage')
const require = createRequire(path.join(ROOT, 'package.json'))

function parseArgs(argv) {
  const o = { sizeMiB: 1024, runs: 3, fsync: false, json: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--size') o.sizeMiB = Number(argv[++i])
    else if (a === '--runs') o.runs = Number(argv[++i])
    else if (a === '--fsync') o.fsync = true
    else if (a === '--json') o.json = argv[++i]
    else throw new Error(`unknown argument ${a}`)
  }
  if (!(o.sizeMiB >= 64) || !(o.runs >= 1)) throw new Error('--size must be ≥ 64 and --runs ≥ 1')
  return o
}

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000)
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** xorshift32 */
function rng(seed) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return s >>> 0
  }
}

/** `size` bytes that LZ4 compresses to ~0.7: random literal runs and copies of earlier stretches. */
function compressible(size, rnd) {
  const out = Buffer.allocUnsafe(size)
  const lit = Buffer.allocUnsafe(64 * 1024)
  randomFillSync(lit)
  let litPos = 0
  let i = 0
  while (i < size) {
    const r = rnd()
    if (i < 4096 || (r & 1) === 0) {
      const n = Math.min(size - i, 8 + ((r >>> 1) & 63))
      if (litPos + n > lit.length) {
        randomFillSync(lit)
        litPos = 0
      }
      lit.copy(out, i, litPos, litPos + n)
      litPos += n
      i += n
    } else {
      const n = Math.min(size - i, 16 + ((r >>> 1) & 127))
      const from = i - n - ((r >>> 8) % Math.min(i - n, 60000))
      out.copy(out, i, from, from + n)
      i += n
    }
  }
  return out
}

/** Chunk lengths 8–128 KiB covering `size` bytes. */
function cut(size, rnd) {
  const lens = []
  let left = size
  while (left > 0) {
    const n = Math.min(left, 8192 + (rnd() % (131072 - 8192 + 1)))
    lens.push(n)
    left -= n
  }
  return lens
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const timer = setTimeout(async () => {
    process.stderr.write('xet bench: still running after 5 min, giving up\n')
    await cleanup()
    process.exit(1)
  }, 5 * 60_000)
  timer.unref()
  for (const f of ['formats/xet/xorb.js', 'formats/xet/plan.js', 'xet/reconstruct-stream.js']) {
    if (!fs.existsSync(path.join(DIST, f))) throw new Error(`${path.join(DIST, f)} missing: run \`npm run build\` first`)
  }
  const imp = (f) => import(pathToFileURL(path.join(DIST, f)).href)
  const { initXetHash, hashToHex, DATA_KEY } = await imp('formats/xet/hash.js')
  const { buildXorb, MAX_XORB_BODY } = await imp('formats/xet/xorb.js')
  const { startXorbCheck, xorbVerifyWorkers } = await imp('xet/xorb-verify-pool.js')
  const { decodeChunkPayload } = await imp('formats/xet/chunk-codec.js')
  const { planRange } = await imp('formats/xet/plan.js')
  const { reconstructStream } = await imp('xet/reconstruct-stream.js')
  // The content store over the disk driver, as server/context.ts wires it (or, with HUBD_BENCH_DIST
  // pointing at a build from before the two layers, its FsBlobStore).
  const openStore = fs.existsSync(path.join(DIST, 'blobs/content-store.js'))
    ? async (root, o) => new (await imp('blobs/content-store.js')).ContentStore(new (await imp('blobs/fs-blob-driver.js')).FsBlobDriver(root, o))
    : async (root, o) => new (await imp('blobs/fs-blob-store.js')).FsBlobStore(root, o)
  const { createBLAKE3 } = require('hash-wasm')
  const lz4 = require('lz4-napi')
  await initXetHash()

  const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
  const load0 = os.loadavg()[0]
  const machine = `${os.cpus().length} vCPU ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`
  log(`node ${process.version}; ${machine}; load ${load0.toFixed(1)}`)
  const tmpRoot = removeOnCleanup(fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-xet-bench-')))
  const store = await openStore(path.join(tmpRoot, 'store'), { fsync: opts.fsync })
  fs.mkdirSync(path.join(tmpRoot, 'bodies'))

  // ── build the xorbs: bodies on disk (what clients upload), chunk tables in memory ──
  const rnd = rng(42)
  const nXorbs = Math.max(1, Math.round(opts.sizeMiB / 64))
  const xorbs = []
  let t0 = performance.now()
  let packedTotal = 0
  const schemesUsed = [0, 0, 0]
  for (let x = 0; x < nXorbs; x++) {
    const data = compressible(XORB, rnd)
    const chunks = []
    let o = 0
    for (const n of cut(XORB, rnd)) {
      chunks.push(data.subarray(o, o + n))
      o += n
    }
    const { bytes, layout } = buildXorb(chunks, x % 4 === 3 ? 2 : 1)
    for (const c of layout.chunks) schemesUsed[c.scheme]++
    const hex = hashToHex(layout.hash)
    const body = path.join(tmpRoot, 'bodies', `${hex}.xorb`)
    fs.writeFileSync(body, bytes)
    xorbs.push({ body, hex, layout, packed: bytes.length })
    packedTotal += bytes.length
  }
  const unpackedTotal = nXorbs * XORB
  log(`built ${nXorbs} xorbs (${unpackedTotal / MiB} MiB unpacked, ${(packedTotal / MiB).toFixed(0)} MiB packed, ratio ${(packedTotal / unpackedTotal).toFixed(2)}; chunks by scheme 0/1/2: ${schemesUsed.join('/')}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

  // Reused buffers for the references (filled untimed): one xorb's body and its unpacked bytes,
  // and its LZ4 blocks in the size-prepended form lz4-napi's block decoder takes.
  const bodyBuf = Buffer.allocUnsafe(XORB + 8 * 8192)
  const plainBuf = Buffer.allocUnsafe(XORB)
  const blockBuf = Buffer.allocUnsafe(XORB + 16 * 8192)
  const readBody = (x) => {
    const fd = fs.openSync(x.body, 'r')
    const n = fs.readSync(fd, bodyBuf, 0, x.packed, 0)
    fs.closeSync(fd)
    if (n !== x.packed) throw new Error(`short read of ${x.body}`)
    return bodyBuf.subarray(0, n)
  }
  const blake = await createBLAKE3(256, DATA_KEY)

  /** keyed BLAKE3 of every chunk of xorb x (its unpacked bytes decoded beforehand, untimed). */
  const refBlake3 = (x) => {
    const body = readBody(x)
    for (const c of x.layout.chunks) {
      const p = body.subarray(c.packedOffset + 8, c.packedOffset + c.packedLength)
      decodeChunkPayload(c.scheme, p, c.unpackedLength).copy(plainBuf, c.unpackedOffset)
    }
    const w = performance.now()
    const u = cpuMs()
    for (const c of x.layout.chunks) {
      blake.init()
      blake.update(plainBuf.subarray(c.unpackedOffset, c.unpackedOffset + c.unpackedLength))
      blake.digest('binary')
    }
    return { ms: performance.now() - w, cpu: cpuMs() - u }
  }

  /**
   * A request body as a socket delivers it: libuv reads a socket on the main thread into a fresh
   * 64 KiB buffer when data is ready, so this reads the body file synchronously the same way
   * (an fs stream would add a thread-pool round trip per piece that sockets do not have).
   */
  const socketLike = (file) => {
    const fd = fs.openSync(file, 'r')
    let pos = 0
    return new Readable({
      highWaterMark: 64 * 1024,
      read() {
        const b = Buffer.allocUnsafe(64 * 1024)
        const n = fs.readSync(fd, b, 0, b.length, pos)
        pos += n
        this.push(n === 0 ? null : n < b.length ? b.subarray(0, n) : b)
      },
      destroy(err, cb) {
        fs.closeSync(fd)
        cb(err)
      },
    })
  }

  /**
   * One xorb through the CAS route's storage path (putKeyed + startXorbCheck, as xet/uploads.ts).
   * `received`: the body is already in memory as 64 KiB pieces (verify + store only, the target's
   * definition); else it is read socket-like during the measurement (receiving included).
   */
  const ingest = async (x, received) => {
    let source
    if (received) {
      const body = readBody(x)
      const pieces = []
      for (let o = 0; o < body.length; o += 64 * 1024) pieces.push(body.subarray(o, o + 64 * 1024))
      source = Readable.from(pieces, { objectMode: false })
    } else {
      source = socketLike(x.body)
    }
    const w = performance.now()
    const u = cpuMs()
    const check = startXorbCheck()
    let layout = null
    await store.putKeyed('xorb', x.hex, source, {
      limit: MAX_XORB_BODY,
      verifier: {
        update: (chunk) => check.push(chunk),
        finish: async () => {
          layout = await check.finish(x.hex)
          return { keep: layout.packedLength }
        },
        abort: () => check.abort(),
      },
    })
    if (layout.chunks.length !== x.layout.chunks.length) throw new Error('ingest: chunk count differs')
    return { ms: performance.now() - w, cpu: cpuMs() - u }
  }

  /** lz4-napi frame and block decompression of every compressed chunk payload of xorb x. */
  const refLz4 = (x) => {
    const body = readBody(x)
    const frames = []
    const blocks = []
    let bo = 0
    for (const c of x.layout.chunks) {
      if (c.scheme === 0) continue
      const p = body.subarray(c.packedOffset + 8, c.packedOffset + c.packedLength)
      frames.push(p)
      // lz4_flex frames of one chunk: FLG 0x60 (no content size) then one block; else no block figure.
      const size = p.readUInt32LE(7)
      if (p[4] === 0x60 && !(size & 0x80000000) && 11 + size + 4 === p.length) {
        blockBuf.writeUInt32LE(c.unpackedLength, bo)
        p.copy(blockBuf, bo + 4, 11, 11 + size)
        blocks.push(blockBuf.subarray(bo, bo + 4 + size))
        bo += 4 + size
      }
    }
    let bytes = 0
    for (const c of x.layout.chunks) if (c.scheme !== 0) bytes += c.unpackedLength
    let w = performance.now()
    let u = cpuMs()
    for (const f of frames) lz4.decompressFrameSync(f)
    const frame = { ms: performance.now() - w, cpu: cpuMs() - u, bytes }
    w = performance.now()
    u = cpuMs()
    for (const b of blocks) lz4.uncompressSync(b)
    const block = { ms: performance.now() - w, cpu: cpuMs() - u, complete: blocks.length === frames.length }
    return { frame, block }
  }

  const plannedTerms = xorbs.map((x) => ({ xorbHash: x.hex, chunkStart: 0, chunkEnd: x.layout.chunks.length, unpackedBytes: x.layout.unpackedLength }))
  const tables = new Map(xorbs.map((x) => [x.hex, x.layout.chunks.map((c) => ({ unpackedLength: c.unpackedLength, packedOffset: c.packedOffset, packedLength: c.packedLength }))]))

  let rssBase = 0
  let rssMax = 0
  const sampleRss = () => (rssMax = Math.max(rssMax, process.memoryUsage.rss()))

  /** The whole file through reconstructStream from the blob store (as xet/reads.ts fileStream). */
  const reconstruct = async () => {
    const w = performance.now()
    const u = cpuMs()
    const plan = planRange(plannedTerms, tables, 0, unpackedTotal - 1)
    let got = 0
    await pipeline(
      reconstructStream(plan, (h, a, b) => store.readKeyed('xorb', h, { start: a, end: b - 1 }), { skip: plan.offsetIntoFirstRange, length: unpackedTotal }),
      new Writable({
        highWaterMark: MiB,
        write(chunk, _enc, cb) {
          got += chunk.length
          if ((got & (16 * MiB - 1)) < chunk.length) sampleRss()
          cb()
        },
      }),
    )
    if (got !== unpackedTotal) throw new Error(`reconstructed ${got} bytes, expected ${unpackedTotal}`)
    return { ms: performance.now() - w, cpu: cpuMs() - u }
  }

  // Warm-up (untimed): store every xorb once (the reconstruction reads these) and touch each path.
  t0 = performance.now()
  for (const x of xorbs) await ingest(x, true)
  refBlake3(xorbs[0])
  refLz4(xorbs[0])
  const workers = xorbVerifyWorkers?.() ?? { size: 1, running: 1 }
  log(`stored ${nXorbs} xorbs (warm-up) in ${((performance.now() - t0) / 1000).toFixed(1)} s; xorb verification on ${workers.running} worker thread(s) (pool of ${workers.size})`)

  const runs = []
  for (let run = 1; run <= opts.runs; run++) {
    const loadAt = os.loadavg()[0]
    global.gc?.()
    rssBase = process.memoryUsage.rss()
    rssMax = rssBase
    // ingest, interleaved per xorb with its reference; which goes first alternates
    const ing = { ms: 0, cpu: 0 }
    const rcv = { ms: 0, cpu: 0 }
    const b3 = { ms: 0, cpu: 0 }
    for (const [i, x] of xorbs.entries()) {
      const add = (acc, r) => ((acc.ms += r.ms), (acc.cpu += r.cpu))
      if ((i + run) % 2 === 0) {
        add(b3, refBlake3(x))
        add(ing, await ingest(x, true))
        add(rcv, await ingest(x, false))
      } else {
        add(rcv, await ingest(x, false))
        add(ing, await ingest(x, true))
        add(b3, refBlake3(x))
      }
      sampleRss()
    }
    const ingestRss = rssMax - rssBase
    // reconstruction and its references, order alternating per run
    global.gc?.()
    rssBase = process.memoryUsage.rss()
    rssMax = rssBase
    const fr = { ms: 0, cpu: 0, bytes: 0 }
    const bl = { ms: 0, cpu: 0, complete: true }
    const refs = () => {
      for (const x of xorbs) {
        const r = refLz4(x)
        fr.ms += r.frame.ms
        fr.cpu += r.frame.cpu
        fr.bytes += r.frame.bytes
        bl.ms += r.block.ms
        bl.cpu += r.block.cpu
        bl.complete &&= r.block.complete
      }
    }
    let rec
    if (run % 2 === 1) {
      rec = await reconstruct()
      refs()
    } else {
      refs()
      rec = await reconstruct()
    }
    const reconRss = rssMax - rssBase
    const r = {
      load: loadAt,
      blake3: mbps(unpackedTotal, b3.ms),
      ingest: mbps(unpackedTotal, ing.ms),
      ingestRatio: b3.ms / ing.ms,
      ingestCpuRatio: b3.cpu / ing.cpu,
      receive: mbps(unpackedTotal, rcv.ms),
      receiveRatio: b3.ms / rcv.ms,
      receiveCpuRatio: b3.cpu / rcv.cpu,
      lz4frame: mbps(fr.bytes, fr.ms),
      lz4block: bl.complete ? mbps(fr.bytes, bl.ms) : NaN,
      reconstruct: mbps(unpackedTotal, rec.ms),
      reconRatio: mbps(unpackedTotal, rec.ms) / mbps(fr.bytes, fr.ms),
      reconCpuRatio: unpackedTotal / rec.cpu / (fr.bytes / fr.cpu),
      reconBlockRatio: bl.complete ? mbps(unpackedTotal, rec.ms) / mbps(fr.bytes, bl.ms) : NaN,
      ingestRssMiB: ingestRss / MiB,
      reconRssMiB: reconRss / MiB,
    }
    runs.push(r)
    log(
      `run ${run} (load ${fmt(loadAt, 1)}): ingest ${fmt(r.ingest)} vs BLAKE3 ${fmt(r.blake3)} MB/s = ${fmt(r.ingestRatio, 2)}× (CPU ${fmt(r.ingestCpuRatio, 2)}×), with receiving ${fmt(r.receiveRatio, 2)}×; ` +
        `reconstruct ${fmt(r.reconstruct)} vs LZ4 frame ${fmt(r.lz4frame)} = ${fmt(r.reconRatio, 2)}× (CPU ${fmt(r.reconCpuRatio, 2)}×), LZ4 block ${fmt(r.lz4block)}; ` +
        `RSS +${fmt(r.ingestRssMiB)} / +${fmt(r.reconRssMiB)} MiB`,
    )
  }

  const m = (k) => median(runs.map((r) => r[k]))
  const out = []
  out.push('')
  out.push(`node ${process.version} · ${machine} · load ${runs.map((r) => fmt(r.load, 1)).join(', ')} at the runs' starts`)
  out.push(
    `${unpackedTotal / MiB} MiB in ${nXorbs} xorbs (packed ${(packedTotal / unpackedTotal).toFixed(2)}×, chunks 8–128 KiB, every 4th xorb BG4), ${opts.runs} run(s); MB/s = 10^6 unpacked bytes per s; ratio = median of per-run ratios; putKeyed fsync ${opts.fsync ? 'on' : 'off'}; ingest verifies on ${workers.running} worker thread(s), the BLAKE3 reference runs on 1 thread`,
  )
  out.push('')
  out.push('| phase | MB/s | reference | ref MB/s | ratio (per run) | CPU-time ratio | target |')
  out.push('|---|---:|---|---:|---:|---:|---|')
  const line = (phase, v, refName, ref, ratioKey, cpuKey, target) => {
    const ratio = m(ratioKey)
    const per = runs.map((r) => fmt(r[ratioKey], 2)).join(' ')
    out.push(
      `| ${phase} | ${fmt(v)} | ${refName} | ${fmt(ref)} | **${fmt(ratio, 2)}×** (${per}) | ${cpuKey ? `${fmt(m(cpuKey), 2)}×` : '—'} | ${target ? `≥ ${target}× ${ratio >= target ? 'met' : 'MISSED'}` : '—'} |`,
    )
  }
  line('xorb ingest: verify + store (putKeyed)', m('ingest'), 'keyed BLAKE3 (hash-wasm)', m('blake3'), 'ingestRatio', 'ingestCpuRatio', 0.6)
  line('xorb ingest incl. receiving (socket-like 64 KiB reads)', m('receive'), 'keyed BLAKE3 (hash-wasm)', m('blake3'), 'receiveRatio', 'receiveCpuRatio', null)
  line('reconstruction stream, whole file', m('reconstruct'), 'LZ4 frame decompress (lz4-napi)', m('lz4frame'), 'reconRatio', 'reconCpuRatio', 0.6)
  line('reconstruction stream, whole file', m('reconstruct'), 'LZ4 block decompress (lz4-napi)', m('lz4block'), 'reconBlockRatio', null, null)
  out.push('')
  out.push(`RSS growth (max during the phase − RSS at its start, medians): ingest ${fmt(m('ingestRssMiB'))} MiB, reconstruction ${fmt(m('reconRssMiB'))} MiB`)
  process.stdout.write(out.join('\n') + '\n')
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ node: process.version, machine, opts, runs }, null, 2))
}

main()
  .catch((err) => {
    process.stderr.write(`xet bench: ${err?.stack ?? err}\n`)
    process.exitCode = 1
  })
  .finally(() => cleanup())
