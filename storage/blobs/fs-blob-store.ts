import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  BlobNotFoundError,
  BlobVerifyError,
  SHA256_RE,
  type BlobExpectation,
  type BlobStore,
  type ByteRange,
} from './blob-store.js'

const CHUNK = 1024 * 1024

/** A transform that hashes and counts what passes through, failing as soon as `limit` is exceeded. */
function hashingCounter(limit: number): Transform & { digest(): string; count: number } {
  const hash = createHash('sha256')
  const t = new Transform({
    // @NOTE: 1 MiB buffers keep syscalls and hash calls few (see ../shared/perf-notes.md).
    highWaterMark: CHUNK,
    transform(chunk: Buffer, _enc, cb) {
      t.count += chunk.length
      if (t.count > limit) return cb(new BlobVerifyError(`more than the announced ${limit} bytes received`))
      hash.update(chunk)
      cb(null, chunk)
    },
  }) as Transform & { digest(): string; count: number }
  t.count = 0
  t.digest = () => hash.digest('hex')
  return t
}

export interface FsBlobStoreOptions {
  /** fdatasync before publishing, so a power loss cannot leave an indexed but empty blob. */
  fsync: boolean
}

/**
 * Local-disk driver. Layout under `root`: `sha256/ab/cd/<oid>` for blobs, `tmp/<host>-<pid>-<n>/`
 * for writes in flight (one folder per process, so a sweep can tell dead writers from live ones),
 * `staging/<id>` for multipart uploads (they outlive restarts).
 */
export class FsBlobStore implements BlobStore {
  private readonly tmpDir: string
  private seq = 0

  constructor(
    private readonly root: string,
    private readonly options: FsBlobStoreOptions = { fsync: true },
  ) {
    this.tmpDir = path.join(root, 'tmp', `${os.hostname()}-${process.pid}-${Date.now().toString(36)}`)
    fs.mkdirSync(this.tmpDir, { recursive: true })
    fs.mkdirSync(path.join(root, 'staging'), { recursive: true })
  }

  private blobPath(oid: string): string {
    if (!SHA256_RE.test(oid)) throw new BlobNotFoundError(`not a sha256: ${oid}`)
    return path.join(this.root, 'sha256', oid.slice(0, 2), oid.slice(2, 4), oid)
  }

  private stagingPath(id: string): string {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw new BlobNotFoundError(`bad staging id: ${id}`)
    return path.join(this.root, 'staging', id)
  }

  async stat(oid: string): Promise<{ size: number } | null> {
    try {
      const st = await fsp.stat(this.blobPath(oid))
      return { size: st.size }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof BlobNotFoundError) return null
      throw err
    }
  }

  async read(oid: string, range?: ByteRange): Promise<Readable> {
    let handle: fsp.FileHandle
    try {
      handle = await fsp.open(this.blobPath(oid), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(oid)
      throw err
    }
    return handle.createReadStream({ highWaterMark: CHUNK, ...(range ? { start: range.start, end: range.end } : {}) })
  }

  async put(source: Readable, expected: BlobExpectation): Promise<void> {
    const tmp = path.join(this.tmpDir, `put-${++this.seq}`)
    const counter = hashingCounter(expected.size)
    try {
      // @NOTE: `flush` fdatasyncs before close, so a published blob survives a power loss.
      await pipeline(source, counter, fs.createWriteStream(tmp, { highWaterMark: CHUNK, flush: this.options.fsync }))
      verify(counter, expected)
      await this.publish(tmp, expected.oid)
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      throw err
    }
  }

  private async publish(file: string, oid: string): Promise<void> {
    const dest = this.blobPath(oid)
    await fsp.mkdir(path.dirname(dest), { recursive: true })
    // @NOTE: rename is atomic; if the digest is already there the content is identical anyway.
    await fsp.rename(file, dest)
  }

  async createStaging(id: string, size: number): Promise<void> {
    const handle = await fsp.open(this.stagingPath(id), 'wx')
    try {
      await handle.truncate(size)
    } finally {
      await handle.close()
    }
  }

  async writeStaging(id: string, offset: number, length: number, source: Readable): Promise<void> {
    const file = this.stagingPath(id)
    if (!(await fsp.stat(file).catch(() => null))) throw new BlobNotFoundError(`no upload ${id}`)
    const counter = hashingCounter(length)
    await pipeline(source, counter, fs.createWriteStream(file, { flags: 'r+', start: offset, highWaterMark: CHUNK }))
    if (counter.count !== length) {
      throw new BlobVerifyError(`part size mismatch: expected ${length} bytes, received ${counter.count}`)
    }
  }

  async commitStaging(id: string, expected: BlobExpectation): Promise<void> {
    const file = this.stagingPath(id)
    const counter = hashingCounter(expected.size)
    await pipeline(fs.createReadStream(file, { highWaterMark: CHUNK }), counter, async (src: AsyncIterable<Buffer>) => {
      for await (const _ of src) {
        // drain: the counter hashes as bytes pass
      }
    })
    verify(counter, expected)
    if (this.options.fsync) {
      const handle = await fsp.open(file, 'r+')
      await handle.datasync().finally(() => handle.close())
    }
    await this.publish(file, expected.oid)
  }

  async abortStaging(id: string): Promise<void> {
    await fsp.rm(this.stagingPath(id), { force: true })
  }

  async delete(oid: string): Promise<void> {
    await fsp.rm(this.blobPath(oid), { force: true })
  }

  async sweep(): Promise<void> {
    const tmpRoot = path.join(this.root, 'tmp')
    const host = os.hostname()
    for (const name of await fsp.readdir(tmpRoot)) {
      const dir = path.join(tmpRoot, name)
      if (dir === this.tmpDir) continue
      const m = /^(.*)-(\d+)-[0-9a-z]+$/.exec(name)
      let dead: boolean
      if (m && m[1] === host) {
        dead = !processAlive(Number(m[2]))
      } else {
        // Another host's writer (shared storage): only give up on it after a day.
        const st = await fsp.stat(dir).catch(() => null)
        dead = st !== null && Date.now() - st.mtimeMs > 24 * 3600 * 1000
      }
      if (dead) await fsp.rm(dir, { recursive: true, force: true })
    }
  }
}

function verify(counter: { count: number; digest(): string }, expected: BlobExpectation): void {
  if (counter.count !== expected.size) {
    throw new BlobVerifyError(`size mismatch: expected ${expected.size} bytes, received ${counter.count}`)
  }
  const digest = counter.digest()
  if (digest !== expected.oid) throw new BlobVerifyError(`sha256 mismatch: expected ${expected.oid}, got ${digest}`)
}

function processAlive(pid: number): boolean {
  // Our own pid on another folder is a previous incarnation (pid 1 in a container, say).
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

