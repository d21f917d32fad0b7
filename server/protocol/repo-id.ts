import type { RepoType } from '../../storage/db/repos-table.js'

/** A repository as a URL or a request body names it. */
export interface RepoId {
  type: RepoType
  namespace: string
  name: string
}

/** URL segment (`models`) ↔ JSON type (`model`). */
export const TYPE_BY_SEGMENT: Record<string, RepoType> = { models: 'model', datasets: 'dataset', spaces: 'space' }
/** The repo type a URL segment names (`models` → `model`), or undefined; never an Object prototype key. */
export function typeFromSegment(segment: string): RepoType | undefined {
  return Object.hasOwn(TYPE_BY_SEGMENT, segment) ? TYPE_BY_SEGMENT[segment] : undefined
}
export const SEGMENT_BY_TYPE: Record<RepoType, string> = { model: 'models', dataset: 'datasets', space: 'spaces' }
/** Prefix of file and git URLs: none for models. */
export const URL_PREFIX: Record<RepoType, string> = { model: '', dataset: 'datasets/', space: 'spaces/' }

/** Namespaces that would collide with URL prefixes or routes (docs/hub-api.md §1.3). */
export const RESERVED_NAMESPACES = new Set([
  'api', 'models', 'datasets', 'spaces', 'kernels', 'buckets', 'new', 'settings', 'login', 'logout', 'join',
  'docs', 'organizations', 'collections', 'papers', 'static', 'assets', 'health',
])

/** Why a repo id part is invalid, or null if it is fine (mirrors hub-py's validate_repo_id). */
export function repoPartProblem(part: string, what: string): string | null {
  if (part.length < 1 || part.length > 96) return `${what} must be 1 to 96 characters long`
  if (!/^[A-Za-z0-9_.-]+$/.test(part)) return `${what} may only contain letters, digits, "_", "." and "-"`
  if (/^[.-]|[.-]$/.test(part)) return `${what} must not start or end with "." or "-"`
  if (part.includes('--') || part.includes('..')) return `${what} must not contain "--" or ".."`
  if (part.toLowerCase().endsWith('.git')) return `${what} must not end with ".git"`
  return null
}

export function parseRepoType(value: unknown): RepoType | null {
  if (value === undefined || value === null || value === 'model') return 'model'
  if (value === 'dataset' || value === 'space') return value
  return null
}
