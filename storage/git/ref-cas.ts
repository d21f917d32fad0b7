import fs from 'node:fs'
import fsp from 'node:fs/promises'
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
      const v = fs.readFileSync(file, 'utf8').trim()
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

async function takeLock(lock: string): Promise<fsp.FileHandle> {
  const deadline = Date.now() + 5000
  for (let attempt = 0; ; attempt++) {
    try {
      return await fsp.open(lock, 'wx')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const st = await fsp.stat(lock).catch(() => null)
      if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) {
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
    await handle.writeFile(kept.join('\n'))
    await handle.datasync()
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
    await handle.writeFile(`${next}\n`)
    await handle.datasync()
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
