import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export const ZERO_OID = '0000000000000000000000000000000000000000'

/** The ref was not at the expected value (someone else moved it first). */
export class RefConflictError extends Error {
  override name = 'RefConflictError'
  constructor(
    readonly ref: string,
    readonly actual: string | null,
  ) {
    super(`${ref} was updated concurrently`)
  }
}

/** A lock file older than this is left over from a crashed writer (a live CAS holds it for milliseconds). */
const STALE_LOCK_MS = 10_000

async function readPackedRef(gitdir: string, ref: string): Promise<string | null> {
  let text: string
  try {
    text = await fsp.readFile(path.join(gitdir, 'packed-refs'), 'utf8')
  } catch {
    return null
  }
  return findPackedRef(text, ref)
}

function findPackedRef(text: string, ref: string): string | null {
  for (const line of text.split('\n')) {
    if (line.endsWith(` ${ref}`) && /^[0-9a-f]{40} /.test(line)) return line.slice(0, 40)
  }
  return null
}

const head = Buffer.alloc(64)

/** The first 64 bytes of a file, which is all of a loose ref (`<40 hex>\n`); no fstat, no options. */
function readHead(file: string): string {
  const fd = fs.openSync(file, 'r')
  try {
    return head.toString('latin1', 0, fs.readSync(fd, head, 0, head.length, 0))
  } finally {
    fs.closeSync(fd)
  }
}

/** Reads a ref the way git does: the loose file first, then packed-refs. Null for names that are not refs. */
export async function readRef(gitdir: string, ref: string): Promise<string | null> {
  // Names come from URLs: a malformed one must not reach outside refs/ (`refs/../../x`).
  if (!refNameOk(ref)) return null
  // Synchronous on purpose: a ref is a 41-byte file in the page cache, read inline in a few µs,
  // where each trip through libuv's thread pool costs tens and a miss also builds an Error —
  // resolve reads up to ten refs per request (bench/metadata.mjs). existsSync misses never throw.
  const file = path.join(gitdir, ref)
  if (fs.existsSync(file)) {
    try {
      const v = readHead(file).trim()
      if (/^[0-9a-f]{40}$/.test(v)) return v
    } catch (err) {
      // ENOENT: deleted just now; EISDIR: the name is a folder of refs (`dev` beside `dev/x`).
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw err
    }
  }
  const packed = path.join(gitdir, 'packed-refs')
  if (!fs.existsSync(packed)) return null
  let text: string
  try {
    text = fs.readFileSync(packed, 'utf8')
  } catch {
    return null
  }
  return findPackedRef(text, ref)
}

/**
 * What hubd writes into a lock file it holds until the final value replaces it: host and pid, so
 * that a lock left by a killed hubd can be told from a live one (git's own locks carry no owner).
 */
function ownerTag(): string {
  return `hubd-lock ${os.hostname()} ${process.pid}\n`
}

/**
 * Whether a lock file is certainly abandoned: written by a hubd on this host whose process is
 * gone (or, with `selfIsStale`, by this very pid: a previous incarnation, as pid 1 in a container),
 * or older than STALE_LOCK_MS whoever wrote it.
 */
export async function lockIsStale(lock: string, selfIsStale = false): Promise<boolean> {
  const st = await fsp.stat(lock).catch(() => null)
  if (!st) return false
  if (Date.now() - st.mtimeMs > STALE_LOCK_MS) return true
  const text = await fsp.readFile(lock, 'latin1').catch(() => '')
  const m = /^hubd-lock (\S+) (\d+)\n/.exec(text)
  if (!m || m[1] !== os.hostname()) return false
  const pid = Number(m[2])
  if (pid === process.pid) return selfIsStale
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM'
  }
}

/** Removes abandoned lock files under a repository's refs (and packed-refs.lock); for start-up. */
export async function sweepRefLocks(gitdir: string): Promise<void> {
  const refs = path.join(gitdir, 'refs')
  const names = await fsp.readdir(refs, { recursive: true }).catch(() => [] as string[])
  const locks = names.filter((n) => n.endsWith('.lock')).map((n) => path.join(refs, n))
  locks.push(path.join(gitdir, 'packed-refs.lock'))
  for (const lock of locks) if (await lockIsStale(lock, true)) await fsp.rm(lock, { force: true })
}

async function takeLock(lock: string): Promise<fsp.FileHandle> {
  const deadline = Date.now() + 5000
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await fsp.open(lock, 'wx')
      await handle.write(ownerTag(), 0)
      return handle
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (await lockIsStale(lock)) {
        // Break it by renaming it aside: of two waiters that saw the same stale lock only one
        // rename succeeds, so the other cannot delete the fresh lock the winner takes next.
        const aside = `${lock}.stale-${process.pid}-${attempt}`
        if (await fsp.rename(lock, aside).then(() => true, () => false)) await fsp.rm(aside, { force: true })
        continue
      }
      if (Date.now() > deadline) throw new RefConflictError(lock, null)
      await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** attempt, 100)))
    }
  }
}

/**
 * Deletes `ref` if it is at `expected`, under the same lock as casRef. A ref that also sits in
 * packed-refs is removed from that file under `packed-refs.lock`, as git does.
 */
export async function casDeleteRef(gitdir: string, ref: string, expected: string): Promise<void> {
  checkRefName(ref)
  const file = path.join(gitdir, ref)
  const lock = `${file}.lock`
  const handle = await takeLock(lock)
  try {
    const current = await readRef(gitdir, ref)
    if (current !== expected) throw new RefConflictError(ref, current)
    if ((await readPackedRef(gitdir, ref)) !== null) await removePackedRef(gitdir, ref)
    await fsp.rm(file, { force: true })
  } finally {
    await handle.close().catch(() => {})
    await fsp.rm(lock, { force: true })
  }
  // Empty folders left by `a/b` would block a later ref named `a`, as in git.
  const stopAt = path.join(gitdir, ...ref.split('/').slice(0, 2)) // <gitdir>/refs/heads
  for (let dir = path.dirname(file); dir.startsWith(`${stopAt}${path.sep}`); dir = path.dirname(dir)) {
    if (!(await fsp.rmdir(dir).then(() => true, () => false))) break
  }
}

async function removePackedRef(gitdir: string, ref: string): Promise<void> {
  const packed = path.join(gitdir, 'packed-refs')
  const lock = `${packed}.lock`
  const handle = await takeLock(lock)
  let published = false
  try {
    const lines = (await fsp.readFile(packed, 'utf8')).split('\n')
    const kept: string[] = []
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.endsWith(` ${ref}`) && /^[0-9a-f]{40} /.test(lines[i]!)) {
        if (lines[i + 1]?.startsWith('^')) i++ // its peeled line goes with it
        continue
      }
      kept.push(lines[i]!)
    }
    await writeWhole(handle, kept.join('\n'))
    await handle.close()
    await fsp.rename(lock, packed)
    published = true
  } finally {
    if (!published) {
      await handle.close().catch(() => {})
      await fsp.rm(lock, { force: true })
    }
  }
}

/** Replaces the lock file's content (the owner tag) with `text`, durably, before it is renamed. */
async function writeWhole(handle: fsp.FileHandle, text: string): Promise<void> {
  const buf = Buffer.from(text)
  await handle.write(buf, 0, buf.length, 0)
  await handle.truncate(buf.length)
  await handle.datasync()
}

function refNameOk(ref: string): boolean {
  return /^refs\/[^\0]+$/.test(ref) && !ref.split('/').some((s) => s === '' || s === '.' || s === '..')
}

function checkRefName(ref: string): void {
  if (!refNameOk(ref)) throw new Error(`bad ref name ${ref}`)
}

/**
 * Moves `ref` from `expected` (null: must not exist) to `next`, following git's lockfile
 * protocol so that `git receive-pack` and other hubd processes see the same mutual exclusion.
 * Never use isomorphic-git's writeRef for branch heads: it has no compare-and-swap.
 */
export async function casRef(gitdir: string, ref: string, expected: string | null, next: string): Promise<void> {
  checkRefName(ref)
  const file = path.join(gitdir, ref)
  await fsp.mkdir(path.dirname(file), { recursive: true })
  const lock = `${file}.lock`
  const handle = await takeLock(lock)
  let published = false
  try {
    const current = await readRef(gitdir, ref)
    if (current !== expected) throw new RefConflictError(ref, current)
    await writeWhole(handle, `${next}\n`)
    await handle.close()
    await fsp.rename(lock, file)
    published = true
  } finally {
    if (!published) {
      await handle.close().catch(() => {})
      await fsp.rm(lock, { force: true })
    }
  }
}
