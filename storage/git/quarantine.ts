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
  /** Objects written here and not yet published (`ab/cdef…`), so reads know where to look without a probe. */
  private readonly staged = new Set<string>()
  private readonly fanouts = new Set<string>()

  private constructor(
    private readonly objects: string,
    readonly dir: string,
  ) {
    /** The `ab/cdef…` name of a loose-object path of the repository, else null. */
    const loose = (file: string): string | null => {
      const rel = path.relative(objects, file).split(path.sep).join('/')
      return LOOSE.test(rel) ? rel : null
    }
    const here = (file: string): string => {
      const rel = loose(file)
      return rel !== null && this.staged.has(rel) ? path.join(dir, rel) : file
    }
    this.fs = {
      promises: {
        ...atomicFs.promises,
        // isomorphic-git asks `stat` before writing an object, and does not write one it finds.
        // Async, so a bad argument rejects: isomorphic-git calls readFile() bare to tell promise
        // clients from callback ones, and would take a synchronous throw for the latter.
        readFile: (async (file: string, options?: never) => fsp.readFile(here(file), options)) as typeof fsp.readFile,
        stat: (async (file: string, options?: never) => fsp.stat(here(file), options)) as typeof fsp.stat,
        lstat: (async (file: string, options?: never) => fsp.lstat(here(file), options)) as typeof fsp.lstat,
        writeFile: async (file: string, data: Uint8Array | string, options?: fs.WriteFileOptions) => {
          const rel = loose(file)
          if (rel === null) return atomicFs.promises.writeFile(file, data, options)
          const fanout = rel.slice(0, 2)
          if (!this.fanouts.has(fanout)) {
            await fsp.mkdir(path.join(dir, fanout), { recursive: true })
            this.fanouts.add(fanout)
          }
          // In place, without atomicFs's temp name: a write cut short fails the commit, and with it
          // the whole quarantine is discarded, so no truncated object can ever be published.
          await fsp.writeFile(path.join(dir, rel), data, options)
          this.staged.add(rel)
        },
      },
    }
  }

  /** A new, empty quarantine in the repository at `gitdir` (its folder is made by the first write). */
  static create(gitdir: string): Quarantine {
    const objects = path.join(gitdir, 'objects')
    const dir = path.join(objects, `hubd-incoming-${os.hostname()}-${process.pid}-${randomBytes(6).toString('hex')}`)
    return new Quarantine(objects, dir)
  }

  /** Moves the objects written so far into the repository. May be called again after more writes. */
  async publish(): Promise<void> {
    // In any order, all at once: nothing names them until the ref moves, after this returns.
    const moving = [...this.staged]
    await Promise.all(moving.map((rel) => renameInto(path.join(this.dir, rel), path.join(this.objects, rel))))
    for (const rel of moving) this.staged.delete(rel)
  }

  /**
   * Deletes the quarantine and whatever it still holds. Never throws: it runs after the write
   * already succeeded or failed, and the start-up sweep removes what a failure here leaves.
   */
  async discard(): Promise<void> {
    if (this.fanouts.size === 0) return
    try {
      // Usually all published: a few empty folders, cheaper to remove one by one than with rm -r.
      await Promise.all([...this.fanouts].map((fanout) => fsp.rmdir(path.join(this.dir, fanout))))
      await fsp.rmdir(this.dir)
    } catch {
      await fsp.rm(this.dir, { recursive: true, force: true }).catch(() => {})
    }
    this.fanouts.clear()
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
