import fs from 'node:fs'
import path from 'node:path'

type Stat = fs.Stats | null

/** A loose ref's value, valid while its file is the same (a ref update renames a new file in). */
interface Known {
  ino: number
  mtimeMs: number
  size: number
  value: string | null
}

/** Across snapshots of one repository: loose ref values and the parsed packed-refs, checked by stat. */
export class RefValues {
  readonly loose = new Map<string, Known>()
  packed: { ino: number; mtimeMs: number; size: number; refs: Map<string, string> } | null = null
}

const HEX40 = /^[0-9a-f]{40}$/
/** An empty, `.` or `..` segment, or a NUL. */
const BAD_NAME = /\/\/|\/$|\0|(?:^|\/)\.{1,2}(?:\/|$)/
const buf = Buffer.alloc(64)

/**
 * Refs as one request reads them: each file under `refs/` is looked at (stat) at most once per
 * snapshot, and a loose ref's content is read only when its file changed since the last read.
 * @NOTE: resolving `main/d42/f0042.txt` asks whether `main/d42/f0042.txt` and `main/d42` are
 * branches or tags before reading `main` — twelve syscalls with plain reads; here three: one stat
 * of `refs/heads/main` (a file, so nothing below it is a loose ref), one of `refs/tags/main`, one
 * of `packed-refs`. Answers are as fresh as the snapshot: take one per request, or share one
 * while nothing can have moved a ref (GitRepo.sharedRefs).
 */
export class RefSnapshot {
  private readonly stats = new Map<string, Stat>()
  private packed: Map<string, string> | null | undefined

  constructor(
    private readonly gitdir: string,
    private readonly values: RefValues,
  ) {}

  /** Ref files looked at so far. */
  get looked(): number {
    return this.stats.size
  }

  private stat(rel: string): Stat {
    let st = this.stats.get(rel)
    if (st === undefined) {
      try {
        st = fs.statSync(`${this.gitdir}/${rel}`, { throwIfNoEntry: false }) ?? null
      } catch {
        st = null // ENOTDIR: a parent is a file (changed under us); no ref there either way
      }
      this.stats.set(rel, st)
    }
    return st
  }

  /** A full ref name (`refs/heads/x`) to its target, loose first, then packed; null if absent or malformed. */
  read(ref: string): string | null {
    // Names come from URLs: a malformed one must not reach outside refs/ (`refs/../../x`).
    if (!ref.startsWith('refs/') || ref.length === 5 || BAD_NAME.test(ref)) return null
    // A loose ref needs every folder above it; `refs/<kind>` itself is not checked (always there).
    let loose = true
    const kindEnd = ref.indexOf('/', 5)
    for (let i = kindEnd < 0 ? -1 : ref.indexOf('/', kindEnd + 1); loose && i >= 0; i = ref.indexOf('/', i + 1)) {
      loose = this.stat(ref.slice(0, i))?.isDirectory() === true
    }
    const st = loose ? this.stat(ref) : null
    if (st?.isFile()) {
      const value = this.looseValue(ref, st)
      if (value) return value
    }
    return this.packedRefs().get(ref) ?? null
  }

  private looseValue(ref: string, st: fs.Stats): string | null {
    const known = this.values.loose.get(ref)
    if (known && known.ino === st.ino && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.value
    let value: string | null = null
    try {
      const fd = fs.openSync(`${this.gitdir}/${ref}`, 'r')
      try {
        const v = buf.toString('latin1', 0, fs.readSync(fd, buf, 0, buf.length, 0)).trim()
        value = HEX40.test(v) ? v : null
      } finally {
        fs.closeSync(fd)
      }
    } catch {
      return null // deleted just now
    }
    if (this.values.loose.size >= 4096) this.values.loose.clear()
    this.values.loose.set(ref, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, value })
    return value
  }

  private packedRefs(): Map<string, string> {
    if (this.packed !== undefined) return this.packed ?? EMPTY
    const st = this.stat('packed-refs')
    if (!st?.isFile()) {
      this.packed = null
      return EMPTY
    }
    const known = this.values.packed
    if (known && known.ino === st.ino && known.mtimeMs === st.mtimeMs && known.size === st.size) return (this.packed = known.refs)
    const refs = new Map<string, string>()
    let text = ''
    try {
      text = fs.readFileSync(path.join(this.gitdir, 'packed-refs'), 'utf8')
    } catch {
      // deleted just now
    }
    for (const line of text.split('\n')) {
      if (line.length > 41 && line[40] === ' ' && HEX40.test(line.slice(0, 40))) refs.set(line.slice(41), line.slice(0, 40))
    }
    this.values.packed = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, refs }
    return (this.packed = refs)
  }
}

const EMPTY: Map<string, string> = new Map()
