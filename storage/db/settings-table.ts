import type { Db } from './open.js'

/** Small key/value facts shared by every process on the same data dir (e.g. the URL-signing key). */
export class SettingsTable {
  private readonly get_
  private readonly insert
  constructor(db: Db) {
    this.get_ = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?')
    this.insert = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING')
  }

  get(key: string): string | undefined {
    return this.get_.get(key)?.value
  }

  /** Returns the stored value, storing `make()` first if there is none (first writer wins). */
  getOrCreate(key: string, make: () => string): string {
    const existing = this.get(key)
    if (existing !== undefined) return existing
    this.insert.run(key, make())
    return this.get(key)!
  }
}
