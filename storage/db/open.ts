import Database from 'better-sqlite3'
import { dataVersionOf } from './data-version.js'
import { migrate } from './migrate.js'

export type Db = Database.Database

/**
 * Opens (creating if needed) the SQLite index in WAL mode and brings it to the newest schema.
 * Several processes may open the same file: WAL plus a busy timeout lets them share it.
 */
export function openDb(file: string, migrationsDir: string): Db {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db, migrationsDir)
  return db
}

/** Closes the database and what watches it (data-version.ts). */
export function closeDb(db: Db): void {
  dataVersionOf(db).close()
  db.close()
}
