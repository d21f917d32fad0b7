import { Type } from '@sinclair/typebox'
import type { Entry } from '../services/content-service.js'

/**
 * A tree / paths-info entry (docs/hub-api.md §4.4). `xetHash` only for files stored through Xet, which our CAS
 * can serve (docs/xet-protocol.md §1.4): py1 with hf_xet then downloads them without a HEAD.
 */
export const TreeEntrySchema = Type.Object({
  type: Type.Union([Type.Literal('file'), Type.Literal('directory')]),
  oid: Type.String(),
  size: Type.Number(),
  path: Type.String(),
  lfs: Type.Optional(Type.Object({ oid: Type.String(), size: Type.Number(), pointerSize: Type.Number() })),
  xetHash: Type.Optional(Type.String()),
})

/** The Xet file hash of an LFS object, if it is stored through Xet. */
export type XetHashOf = (lfsOid: string) => string | undefined

export function toWireEntry(e: Entry, xetHashOf: XetHashOf) {
  if (e.type === 'directory') return { type: e.type, oid: e.oid, size: 0, path: e.path }
  if (!e.lfs) return { type: e.type, oid: e.oid, size: e.size, path: e.path }
  const xetHash = xetHashOf(e.lfs.oid)
  return { type: e.type, oid: e.oid, size: e.size, path: e.path, lfs: e.lfs, ...(xetHash ? { xetHash } : {}) }
}
