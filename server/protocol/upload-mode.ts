import type { LfsAttributes } from '../../storage/formats/gitattributes.js'

/**
 * lfs or regular for a file about to be committed (docs/hub-api.md §5.4): empty → regular; an LFS rule in
 * `.gitattributes` → lfs; at or above the size threshold → lfs; a binary-looking sample → lfs.
 */
export function uploadMode(
  file: { path: string; size: number; sample: Buffer },
  attrs: LfsAttributes,
  threshold: number,
): 'lfs' | 'regular' {
  if (file.size === 0) return 'regular'
  if (attrs.isLfs(file.path)) return 'lfs'
  if (file.size >= threshold) return 'lfs'
  return looksBinary(file.sample) ? 'lfs' : 'regular'
}

/** A NUL byte, or bytes that are not UTF-8 (ignoring a multi-byte sequence cut at the end). */
export function looksBinary(sample: Buffer): boolean {
  if (sample.includes(0)) return true
  try {
    // stream: a multi-byte sequence cut by the 512-byte boundary is held back, not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true })
    return false
  } catch {
    return true
  }
}
