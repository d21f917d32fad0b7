import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { processAlive } from '../process-alive.js'
import type { BlobDriver, BlobWriter, WriterOptions } from './blob-driver.js'
import type { BlobRange } from './blob-range.js'
import { BlobNotFoundError, type ByteRange } from './blob-store.js'
import { FileRange, FileReadStream } from './fs-reads.js'

export interface FsBlobDriverOptions {
  /** fdatasync before committing, so a power loss cannot leave an indexed but empty object. */
  fsync: boolean
}

/** Write-behind: with fsync on, fdatasync every this many bytes while writing, so the last one is short. */
const SYNC_EVERY = 64 * 1024 * 1024

const KEY_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/

/**
 * Local-disk driver: the object `k` is the file `<root>/k`; temp objects live in
 * `tmp/<host>-<pid>-<n>/` (one folder per process, so a sweep can tell dead writers from live
 * ones) and are committed by rename.
 */
export class FsBlobDriver implements BlobDriver {
  private readonly tmpDir: string
  private seq = 0

  constructor(
    private readonly root: string,
    private readonly options: FsBlobDriverOptions = { fsync: true },
  ) {
    this.tmpDir = path.join(root, 'tmp', `${os.hostname()}-${process.pid}-${Date.now().toString(36)}`)
    fs.mkdirSync(this.tmpDir, { recursive: true })
  }

  /** The file of `key`, or null for a key that is not one (it would leave the root or hit tmp/). */
  private file(key: string): string | null {
    return KEY_RE.test(key) && key !== 'tmp' && !key.startsWith('tmp/') ? path.join(this.root, key) : null
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const file = this.file(key)
    if (!file) return null
    try {
      const st = await fsp.stat(file)
      return st.isFile() ? { size: st.size } : null
    } catch (err) {
      if (isAbsent(err)) return null
      throw err
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (range && !(Number.isSafeInteger(range.start) && range.start >= 0 && range.end >= range.start)) {
      throw new RangeError(`bad byte range ${range.start}-${range.end}`)
    }
    return new FileReadStream(await this.open(key), range?.start ?? 0, range ? range.end + 1 : Infinity)
  }

  async openRange(key: string, range: ByteRange): Promise<BlobRange> {
    return new FileRange(await this.open(key), range)
  }

  private async open(key: string): Promise<fsp.FileHandle> {
    const file = this.file(key)
    if (!file) throw new BlobNotFoundError(key)
    try {
      return await fsp.open(file, 'r')
    } catch (err) {
      if (isAbsent(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') throw new BlobNotFoundError(key)
      throw err
    }
  }

  async createWriter(key: string, opts?: WriterOptions): Promise<BlobWriter> {
    const dest = this.file(key)
    if (!dest) throw new BlobNotFoundError(`bad key: ${key}`)
    const tmp = path.join(this.tmpDir, `w-${++this.seq}`)
    return new FsWriter(await fsp.open(tmp, 'w'), tmp, dest, this.options.fsync && opts?.durable !== false)
  }

  async writeAt(key: string, offset: number): Promise<BlobWriter> {
    if (!(Number.isSafeInteger(offset) && offset >= 0)) throw new RangeError(`bad offset ${offset}`)
    const file = this.file(key)
    if (!file) throw new BlobNotFoundError(`bad key: ${key}`)
    let handle: fsp.FileHandle
    try {
      handle = await fsp.open(file, 'r+')
    } catch (err) {
      if (isAbsent(err)) throw new BlobNotFoundError(key)
      throw err
    }
    // Not durable here: `rename` syncs the whole object before publishing it.
    return new FsWriter(handle, null, file, false, offset)
  }

  async rename(from: string, to: string): Promise<void> {
    const src = this.file(from)
    const dest = this.file(to)
    if (!src || !dest) throw new BlobNotFoundError(`bad key: ${src ? to : from}`)
    if (this.options.fsync) {
      const handle = await fsp.open(src, 'r+')
      await handle.datasync().finally(() => handle.close())
    }
    await renameInto(src, dest)
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key)
    if (!file) return
    await fsp.rm(file, { force: true })
    // The folder too once empty (a finished upload's staging/<id>/); a commit racing with this
    // recreates it (FsWriter.commit).
    if (path.dirname(file) !== this.root) await fsp.rmdir(path.dirname(file)).catch(() => {})
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    // The deepest folder the prefix names; keys below it are filtered by the rest of the prefix.
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1)
    if (base !== '' && !this.file(base.slice(0, -1))) return
    const dir = path.join(this.root, base)
    let entries: fs.Dirent[]
    try {
      entries = (await fsp.readdir(dir, { recursive: true, withFileTypes: true })) as fs.Dirent[]
    } catch (err) {
      if (isAbsent(err)) return
      throw err
    }
    for (const e of entries) {
      if (!e.isFile()) continue
      const key = path.relative(this.root, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join('/')
      if (!key.startsWith(prefix) || key.startsWith('tmp/')) continue
      const st = await fsp.stat(path.join(this.root, key)).catch(() => null)
      if (st) yield { key, size: st.size }
    }
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

/**
 * A temp file in this process's tmp folder, renamed to its destination on commit; or, with no
 * `tmp`, the destination itself written in place from `position` (FsBlobDriver.writeAt).
 */
class FsWriter implements BlobWriter {
  private unsynced = 0
  private syncing: Promise<void> | null = null
  private syncError: Error | null = null
  private closed = false

  constructor(
    private readonly handle: fsp.FileHandle,
    private readonly tmp: string | null,
    private readonly dest: string,
    private readonly fsync: boolean,
    private position: number | null = null,
  ) {}

  write(chunks: readonly Buffer[]): Promise<void> {
    if (this.syncError) return Promise.reject(this.syncError)
    let n = 0
    for (const c of chunks) n += c.length
    const at = this.position
    if (at !== null) this.position = at + n
    return new Promise((resolve, reject) =>
      writevFully(this.handle.fd, chunks, at, (err) => {
        if (err) return reject(err)
        if (this.fsync) this.unsynced += n
        this.maybeSync()
        resolve()
      }),
    )
  }

  private maybeSync(): void {
    if (this.syncing || this.unsynced < SYNC_EVERY) return
    this.unsynced = 0
    this.syncing = new Promise<void>((resolve) =>
      fs.fdatasync(this.handle.fd, (err) => {
        if (err) this.syncError = err
        this.syncing = null
        resolve()
      }),
    )
  }

  async end(length?: number): Promise<void> {
    if (this.syncing) await this.syncing
    if (this.syncError) throw this.syncError
    if (length !== undefined) {
      if (!this.tmp) throw new Error('end(length) of an in-place writer')
      await this.handle.truncate(length)
    }
    if (this.fsync) await this.handle.datasync()
    this.closed = true
    await this.handle.close()
  }

  async commit(): Promise<void> {
    // @NOTE: rename is atomic; replacing an object under the same key is harmless for content-named
    // objects and what "rewriting a part" means for staging parts.
    if (this.tmp) await renameInto(this.tmp, this.dest)
  }

  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      if (this.syncing) await this.syncing
      await this.handle.close().catch(() => {})
    }
    if (this.tmp) await fsp.rm(this.tmp, { force: true })
  }
}

/** rename(2), creating the destination's folder when missing (first object there, or an emptied folder removed). */
async function renameInto(from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fsp.rename(from, to)
    } catch (err) {
      if (!isAbsent(err) || attempt === 3) throw err
      await fsp.mkdir(path.dirname(to), { recursive: true })
    }
  }
}

/** Writes all of `bufs` at `position` (null: the file's current position). */
function writevFully(fd: number, bufs: readonly Buffer[], position: number | null, cb: (err?: Error | null) => void): void {
  fs.writev(fd, bufs, position, (err, written) => {
    if (err) return cb(err)
    // Short writes are rare on regular files but allowed: go on with what is left.
    let rest = bufs
    while (rest.length > 0 && written >= rest[0]!.length) {
      written -= rest[0]!.length
      rest = rest.slice(1)
    }
    if (rest.length === 0) return cb()
    const done = bufs.reduce((n, b) => n + b.length, 0) - rest.reduce((n, b) => n + b.length, 0) + written
    writevFully(fd, [rest[0]!.subarray(written), ...rest.slice(1)], position === null ? null : position + done, cb)
  })
}

/** No such file; ENOTDIR: a folder on the way is a file (a key below an object's key). */
function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}
