// The Xet test data of test/fixtures/xet (described in its README.md and docs/xet-protocol.md §7),
// and generators for more. A missing fixture fails the test that reads it.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const FIXTURE_DIR = path.join(ROOT, 'test/fixtures/xet')

export function fixtureBytes(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURE_DIR, name))
}

export function fixtureJson<T = any>(name: string): T {
  return JSON.parse(fixtureBytes(name).toString('utf8')) as T
}

/** makeData(size, a, b): byte i = (i*a + b) & 0xff. */
export function makeData(size: number, a: number, b: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) out[i] = (i * a + b) & 0xff
  return out
}

/**
 * Deterministic pseudo-random bytes that LZ4 compresses roughly 2:1: runs of random literals
 * interleaved with copies of earlier stretches (LZ4 only finds repeats, no entropy coding).
 */
export function compressibleBytes(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  let s = seed >>> 0 || 1
  const rnd = (): number => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return s >>> 0
  }
  let i = 0
  while (i < size) {
    const r = rnd()
    if (i < 64 || (r & 1) === 0) {
      const n = Math.min(size - i, 1 + ((r >>> 1) & 15))
      for (let k = 0; k < n; k++) out[i++] = rnd() & 0xff
    } else {
      const n = Math.min(size - i, 4 + ((r >>> 1) & 31))
      const from = i - 1 - ((r >>> 6) % Math.min(i, 4096))
      for (let k = 0; k < n; k++) out[i++] = out[from + k]!
    }
  }
  return out
}
