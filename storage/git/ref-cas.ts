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
  for (const line of text.split('\n')) {
    if (line.endsWith(` ${ref}`) && /^[0-9a-f]{40} /.test(line)) return line.slice(0, 40)
  }
  return null
}

/** Reads a ref the way git does: the loose file first, then packed-refs. */
export async function readRef(gitdir: string, ref: string): Promise<string | null> {
  try {
    const v = (await fsp.readFile(path.join(gitdir, ref), 'utf8')).trim()
    if (/^[0-9a-f]{40}$/.test(v)) return v
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err
  }
  return readPackedRef(gitdir, ref)
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
        await fsp.rm(lock, { force: true })
        continue
      }
      if (Date.now() > deadline) throw new RefConflictError(lock, null)
      await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** attempt, 100)))
    }
  }
}

/**
 * Moves `ref` from `expected` (null: must not exist) to `next`, following git's lockfile
 * protocol so that `git receive-pack` and other hubd processes see the same mutual exclusion.
 * Never use isomorphic-git's writeRef for branch heads: it has no compare-and-swap.
 */
export async function casRef(gitdir: string, ref: string, expected: string | null, next: string): Promise<void> {
  if (!/^refs\/[^\0]+$/.test(ref) || ref.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`bad ref name ${ref}`)
  }
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
