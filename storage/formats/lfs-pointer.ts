/** An LFS pointer blob's content (spec Appendix B). */
export interface LfsPointer {
  oid: string
  size: number
}

const POINTER_RE = /^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:([0-9a-f]{64})\nsize (\d+)\n$/

/** Pointers are small: anything larger is a regular file whatever it contains. */
export const MAX_POINTER_SIZE = 1024

/** The canonical three-line pointer text. */
export function formatPointer(p: LfsPointer): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${p.oid}\nsize ${p.size}\n`
}

/** Parses a canonical pointer; null for anything else (so a regular file is never misread). */
export function parsePointer(content: Uint8Array): LfsPointer | null {
  if (content.byteLength > MAX_POINTER_SIZE) return null
  const m = POINTER_RE.exec(Buffer.from(content).toString('latin1'))
  if (!m) return null
  const size = Number(m[2])
  if (!Number.isSafeInteger(size)) return null
  return { oid: m[1]!, size }
}
