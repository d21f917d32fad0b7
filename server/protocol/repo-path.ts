/** Longest path inside a repository, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1000

/**
 * Why a path inside a repository is unacceptable, or null (docs/hub-api.md §6.3): relative, `/`-separated,
 * no empty, `.` or `..` segments, no `.git` segment, no NUL or other control characters, at most
 * 1000 bytes.
 */
export function repoPathProblem(path: string): string | null {
  if (path === '') return 'path is empty'
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `path is longer than ${MAX_PATH_BYTES} bytes`
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return 'path contains a control character'
  if (path.includes('\\')) return 'path contains a backslash'
  if (path.startsWith('/')) return 'path must be relative (no leading "/")'
  for (const seg of path.split('/')) {
    if (seg === '') return 'path contains an empty segment'
    if (seg === '.' || seg === '..') return `path contains a "${seg}" segment`
    if (seg.toLowerCase() === '.git') return 'path contains a ".git" segment'
  }
  return null
}
