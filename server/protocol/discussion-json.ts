import type { EventRow } from '../../storage/db/discussions-table.js'
import { escapeHtml } from './html.js'

/** A discussion event as the Hub sends it (py `deserialize_event`). */
export function eventJson(e: EventRow) {
  return { id: e.id, type: e.type, createdAt: e.created_at, author: { name: e.author }, data: JSON.parse(e.data) as unknown }
}

/** The data of a new comment event: its text raw and as HTML, not yet edited or hidden. */
export function commentData(text: string) {
  return { edited: false, hidden: false, latest: { raw: text, html: escapeHtml(text), updatedAt: new Date().toISOString() }, numEdits: 0 }
}
