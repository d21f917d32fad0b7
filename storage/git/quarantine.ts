import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { processAlive } from '../process-alive.js'
import { atomicFs } from './atomic-fs.js'

/** Our quarantine folders: `objects/hubd-incoming-<host>-<pid>-<random>`. */
const OURS = /^hubd-incoming-(.*)-(\d+)-[0-9a-f]+$/
/** git receive-pack's (tmp-objdir.c), left behind by a push killed mid-way. */
const GITS = /^tmp_objdir-incoming-[A-Za-z0-9_]+$/
const LOOSE = /^[0-9a-f]{2}\/[0-9a-f]{38}$/

/**
 * How long a quarantine may go unwritten before the start-up sweep takes it for abandoned, when its
 * owner cannot be asked (git's, or another host's on a shared data dir). A live push or commit
 * writes to its quarantine as bytes arrive; one idle this long has a client that stalled for an hour.
 */
export const STALE_QUARANTINE_MS = 60 * 60 * 1000

/**
 * The objects of one write, kept apart from the repository until it succeeds, as git's
 * receive-pack does: loose objects written through `fs` land in `objects/hubd-incoming-…/`, and
 * reads through it look there first, then in the repository. `publish` moves them in (call it
 * before moving the ref); `discard` deletes what is left, so a refused or failed write leaves
 * nothing behind.
 */
export class Quarantine {
  /** The fs client for isomorphic-git: loose-object writes go to the quarantine, reads fall back. */
  readonly fs: typeof atomicFs

  private constructor(
    private readonly objects: string,
    readonly dir: string,
  ) {
    const staged = (file: string): string | null => {
      const rel = path.relative(objects, file).split(path.sep).join('/')
      return LOOSE.test(rel) ? path.join(dir, rel) : null
    }
    // A loose object missing from the quarantine may be in the repository (isomorphic-git asks
    // `stat` before writing one, and does not write it again when found).
    const either =
      <A extends unknown[], R>(op: (file: string, ...rest: A) => Promise<R>) =>
      async (file: string, ...rest: A): Promise<R> => {
        const q = staged(file)
        if (!q) return op(file, ...rest)
        try {
          return await op(q, ...rest)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
          return op(file, ...rest)
        }
      }
    this.fs = {
      promises: {
        ...atomicFs.promises,
        readFile: either(fsp.readFile) as typeof fsp.readFile,
        stat: either(fsp.stat) as typeof fsp.stat,
        lstat: either(fsp.lstat) as typeof fsp.lstat,
        writeFile: (file: string, data: Uint8Array | string, options?: fs.WriteFileOptions) =>
          atomicFs.promises.writeFile(staged(file) ?? file, data, options),
      },
    }
  }

  /** A new, empty quarantine in the repository at `gitdir`. */
  static async create(gitdir: string): Promise<Quarantine> {
    const objects = path.join(gitdir, 'objects')
    const dir = path.join(objects, `hubd-incoming-${os.hostname()}-${process.pid}-${randomBytes(6).toString('hex')}`)
    await fsp.mkdir(dir)
    return new Quarantine(objects, dir)
  }

  /** Moves the objects written so far into the repository. May be called again after more writes. */
  async publish(): Promise<void> {
    for (const fan of await fsp.readdir(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue
      for (const name of await fsp.readdir(path.join(this.dir, fan))) {
        if (!/^[0-9a-f]{38}$/.test(name)) continue
        await renameInto(path.join(this.dir, fan, name), path.join(this.objects, fan, name))
      }
    }
  }

  /**
   * Deletes the quarantine and whatever it still holds. Never throws: it runs after the write
   * already succeeded or failed, and the start-up sweep removes what a failure here leaves.
   */
  async discard(): Promise<void> {
    await fsp.rm(this.dir, { recursive: true, force: true }).catch(() => {})
  }
}

/**
 * rename(2) into a fan-out folder, creating it when missing; `git repack` (prune-packed) removes
 * the ones it empties, possibly in between. Replacing an existing object is harmless: same name,
 * same content.
 */
async function renameInto(from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fsp.rename(from, to)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw err
      await fsp.mkdir(path.dirname(to)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw err
      })
    }
  }
}

/**
 * Removes abandoned quarantines of a repository (for start-up): ours whose process on this host
 * is gone, and, where the owner cannot be asked (git receive-pack's `tmp_objdir-incoming-*`, or
 * ours from another host), those nothing was written to for STALE_QUARANTINE_MS.
 */
export async function sweepQuarantines(gitdir: string, now = Date.now()): Promise<void> {
  const objects = path.join(gitdir, 'objects')
  for (const name of await fsp.readdir(objects).catch(() => [] as string[])) {
    const ours = OURS.exec(name)
    if (!ours && !GITS.test(name)) continue
    const dir = path.join(objects, name)
    const dead = ours?.[1] === os.hostname() ? !processAlive(Number(ours[2])) : now - (await lastWrite(dir)) > STALE_QUARANTINE_MS
    if (dead) await fsp.rm(dir, { recursive: true, force: true })
  }
}

/** The newest mtime of a folder and everything below it; Infinity when it cannot be read (left alone). */
async function lastWrite(dir: string): Promise<number> {
  try {
    let newest = (await fsp.stat(dir)).mtimeMs
    for (const entry of await fsp.readdir(dir, { recursive: true })) {
      const st = await fsp.stat(path.join(dir, entry)).catch(() => null)
      if (st && st.mtimeMs > newest) newest = st.mtimeMs
    }
    return newest
  } catch {
    return Infinity
  }
}
