import { Type } from '@sinclair/typebox'
import type { Entry } from '../services/content-service.js'

/** A tree / paths-info entry (spec 4.4). Never carries `xetHash` (spec 7.10). */
export const TreeEntrySchema = Type.Object({
  type: Type.Union([Type.Literal('file'), Type.Literal('directory')]),
  oid: Type.String(),
  size: Type.Number(),
  path: Type.String(),
  lfs: Type.Optional(Type.Object({ oid: Type.String(), size: Type.Number(), pointerSize: Type.Number() })),
})

export function toWireEntry(e: Entry) {
  if (e.type === 'directory') return { type: e.type, oid: e.oid, size: 0, path: e.path }
  return { type: e.type, oid: e.oid, size: e.size, path: e.path, ...(e.lfs ? { lfs: e.lfs } : {}) }
}
