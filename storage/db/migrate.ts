import fs from 'node:fs'
import path from 'node:path'
import type Database from 'better-sqlite3'

export class MigrationError extends Error {
  override name = 'MigrationError'
}

/**
 * Applies `NNNN-*.sql` files above the database's `user_version`, each in its own transaction.
 * Forward-only: a database newer than the code is refused rather than guessed at.
 */
export function migrate(db: Database.Database, dir: string): number {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}-.+\.sql$/.test(f))
    .sort()
  const latest = files.length
  files.forEach((f, i) => {
    if (Number(f.slice(0, 4)) !== i + 1) throw new MigrationError(`migration ${f} is out of sequence`)
  })
  // @NOTE: BEGIN IMMEDIATE so two processes starting together do not both apply a migration.
  const step = db.transaction((file: string, version: number) => {
    const current = db.pragma('user_version', { simple: true }) as number
    if (current >= version) return
    db.exec(fs.readFileSync(path.join(dir, file), 'utf8'))
    db.pragma(`user_version = ${version}`)
  })
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > latest) {
    throw new MigrationError(`database schema version ${current} is newer than this hubd (${latest}); upgrade hubd`)
  }
  files.forEach((f, i) => {
    if (i + 1 > current) step.immediate(f, i + 1)
  })
  return latest
}
