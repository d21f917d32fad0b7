import { randomBytes } from 'node:crypto'

/** A 24-hex id, the shape the Hub uses for `_id`, user and org ids. */
export function newId(): string {
  return randomBytes(12).toString('hex')
}

export function nowIso(): string {
  return new Date().toISOString()
}
