export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }

/**
 * Interprets a Range header against a body of `size` bytes (docs/hub-api.md §7.6): one range in the forms
 * `bytes=a-b`, `bytes=a-`, `bytes=-n`. Anything else (several ranges, other units, garbage) is
 * ignored and the whole body is served, as RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'full' }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' }
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(m[1])
  let end = m[2] === '' ? size - 1 : Number(m[2])
  if (m[2] !== '' && end < start) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  if (end >= size) end = size - 1
  return { kind: 'partial', start, end }
}
