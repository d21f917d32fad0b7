/**
 * Splits the raw request path (before any decoding) into segments and decodes each exactly once
 * (docs/hub-api.md §1.4: a doubly-encoded `refs%252Fpr%252F1` must stay `refs%2Fpr%2F1`). Query string dropped.
 */
export function rawSegments(rawUrl: string): string[] {
  const q = rawUrl.indexOf('?')
  const p = q < 0 ? rawUrl : rawUrl.slice(0, q)
  return p.split('/').slice(1)
}

export class BadEncodingError extends Error {
  override name = 'BadEncodingError'
}

export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new BadEncodingError(`invalid percent-encoding in "${s}"`)
  }
}

/** A revision alone: the remaining segments, each decoded, joined with `/` (docs/hub-api.md §1.4 rule 3). */
export function revisionFrom(segments: string[]): string {
  return segments.map(decodeSegment).join('/')
}

/**
 * A revision followed by a path (`/resolve/`, `/raw/`, `/tree/`), docs/hub-api.md §1.4 rule 2. `isRef` says
 * whether a multi-segment name is an existing branch or tag (for `feature/x` sent raw by hub-js).
 */
export async function revisionAndPath(
  segments: string[],
  isRef: (name: string) => Promise<boolean>,
): Promise<{ rev: string; path: string }> {
  const decoded = segments.map(decodeSegment)
  const join = (from: number) => decoded.slice(from).join('/')
  if (decoded.length === 0) return { rev: '', path: '' }
  if (decoded[0]!.includes('/')) return { rev: decoded[0]!, path: join(1) }
  if (decoded[0] === 'refs' && (decoded[1] === 'pr' || decoded[1] === 'convert') && decoded.length > 2) {
    return { rev: decoded.slice(0, 3).join('/'), path: join(3) }
  }
  for (let k = decoded.length - 1; k >= 1; k--) {
    const candidate = decoded.slice(0, k + 1).join('/')
    if (await isRef(candidate)) return { rev: candidate, path: join(k + 1) }
  }
  return { rev: decoded[0]!, path: join(1) }
}
