import fs from 'node:fs'
import type Database from 'better-sqlite3'

/** Both copies of the WAL-index header at the start of the `-shm` file (sqlite.org/walformat.html §2.1). */
const HEADER_BYTES = 96

const versions = new WeakMap<Database.Database, DataVersion>()

/** The database's one DataVersion (shared by every table class on that connection). */
export function dataVersionOf(db: Database.Database): DataVersion {
  let v = versions.get(db)
  if (!v) versions.set(db, (v = new DataVersion(db)))
  return v
}

/**
 * A stamp that changes whenever a change to the database commits, from this connection or any
 * other (other processes included): what is cached under it is never stale. Every request checks
 * it, so it must be cheap.
 *
 * `PRAGMA data_version` sees other connections' commits, but it opens a read transaction: three
 * system calls (lock and unlock of a read mark in the `-shm` file, a stat), which cost 3–15 µs
 * on this VM (bench/README.md, metadata). In WAL mode every commit rewrites the WAL-index header
 * (its change counter, frame count, salts) before the committing call returns, so while those
 * 96 bytes read the same (one pread), no commit can have happened and the last data_version
 * still holds. A read that overlaps a commit's header write differs from the last one (the
 * writer changes the second copy first), and then data_version is asked. Without a `-shm` file
 * (not WAL, in memory) every call asks data_version. `total_changes()` counts this connection's
 * own commits without any system call.
 */
export class DataVersion {
  private readonly pragma: Database.Statement
  private readonly changes: Database.Statement
  /** The `-shm` file: undefined until first used, null when there is none to read. */
  private shm: number | null | undefined
  private readonly last = Buffer.alloc(HEADER_BYTES)
  private readonly scratch = Buffer.alloc(HEADER_BYTES)
  private others: number | null = null
  /** How many times data_version was asked (for tests: unchanged headers must not ask). */
  asked = 0

  constructor(private readonly db: Database.Database) {
    this.pragma = db.prepare('PRAGMA data_version').pluck()
    this.changes = db.prepare('SELECT total_changes()').pluck()
  }

  current(): string {
    return `${this.otherCommits()}.${this.changes.get() as number}`
  }

  /** Closes the `-shm` file descriptor (with the database: closeDb). */
  close(): void {
    if (typeof this.shm === 'number') fs.closeSync(this.shm)
    this.shm = null
  }

  private otherCommits(): number {
    // The header is read before data_version: a commit in between makes the next call ask again.
    const read = this.readHeader(this.scratch)
    if (read && this.others !== null && this.scratch.equals(this.last)) return this.others
    const version = this.pragma.get() as number
    this.asked++
    if (read) this.scratch.copy(this.last)
    this.others = read ? version : null
    return version
  }

  private readHeader(into: Buffer): boolean {
    if (this.shm === undefined) this.shm = this.openShm()
    if (this.shm === null) return false
    try {
      return fs.readSync(this.shm, into, 0, HEADER_BYTES, 0) === HEADER_BYTES
    } catch {
      return false
    }
  }

  private openShm(): number | null {
    if (this.db.memory || String(this.db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return null
    try {
      return fs.openSync(`${this.db.name}-shm`, 'r')
    } catch {
      return null
    }
  }
}
