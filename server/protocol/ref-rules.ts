import { validRefName } from '../../storage/formats/ref-name.js'

/** Why a short branch or tag name is unacceptable (git check-ref-format plus the Hub's own rules). */
export function refNameProblem(name: string): string | null {
  if (name === '') return 'the name is empty'
  if (Buffer.byteLength(name) > 255) return 'the name is longer than 255 bytes'
  if (name.startsWith('refs/') || name === 'HEAD') return `"${name}" is reserved`
  if (/^[0-9a-f]{40}$/.test(name)) return 'a name may not look like a commit id'
  if (!validRefName(`refs/heads/${name}`)) {
    return 'names may not contain "..", "~", "^", ":", "?", "*", "[", "\\", spaces or control characters, start or end with "/" or ".", or end with ".lock"'
  }
  return null
}

/** A change to one ref: `old` null creates it, `next` null deletes it. */
export interface RefChange {
  ref: string
  old: string | null
  next: string | null
}

/** A broken ref rule: the API answers `status`, a push is refused with `message`. */
export interface RefRuleBreak {
  status: 400 | 403 | 409
  message: string
}

/**
 * The rules every change to a branch or tag keeps, whether the API or a git push asks for it
 * (docs/hub-api.md §8): only `refs/heads/…` and `refs/tags/…`, names the API would create, the
 * default branch is never deleted, and a tag never moves (it may be deleted, as through the API).
 */
export function refChangeProblem(change: RefChange, defaultBranch: string): RefRuleBreak | null {
  const { ref, old, next } = change
  const m = /^refs\/(heads|tags)\/(.*)$/s.exec(ref)
  if (!m) return { status: 403, message: `${ref}: only branches (refs/heads/…) and tags (refs/tags/…) can be pushed` }
  const [, kind, name] = m as unknown as [string, 'heads' | 'tags', string]
  if (next === null) {
    if (kind === 'heads' && name === defaultBranch) return { status: 403, message: `Cannot delete ${ref}: refusing to delete the default branch` }
    return null
  }
  const problem = refNameProblem(name)
  if (problem) {
    return { status: 400, message: kind === 'heads' ? `Invalid reference for a branch: ${problem} (${ref})` : `Invalid tag name: ${problem} (${ref})` }
  }
  if (kind === 'tags' && old !== null) return { status: 409, message: `Tag ${name} already exists; a tag never moves` }
  return null
}
