import { repoPathProblem } from './repo-path.js'

export interface CommitHeader {
  summary: string
  description: string
  parentCommit: string | null
}

export type CommitOp =
  | { key: 'file'; path: string; content: Buffer }
  | { key: 'lfsFile'; path: string; oid: string; size: number | null }
  | { key: 'deletedFile'; path: string }
  | { key: 'deletedFolder'; path: string }
  | { key: 'copyFile'; path: string; srcPath: string; srcRevision: string | null }

export type CommitLine = { key: 'header'; value: CommitHeader } | CommitOp

/** A line of the commit body that cannot be used; `status` 400 (malformed) or 422 (bad path). */
export class CommitLineError extends Error {
  override name = 'CommitLineError'
  constructor(
    message: string,
    readonly status: 400 | 422,
  ) {
    super(message)
  }
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/

function str(v: Record<string, unknown>, key: string, line: number, required = true): string | null {
  const x = v[key]
  if (x === undefined || x === null) {
    if (required) throw new CommitLineError(`line ${line}: "value.${key}" is required`, 400)
    return null
  }
  if (typeof x !== 'string') throw new CommitLineError(`line ${line}: "value.${key}" must be a string`, 400)
  return x
}

function path(v: Record<string, unknown>, key: string, line: number, folder = false): string {
  let p = str(v, key, line)!
  if (folder) p = p.replace(/\/+$/, '')
  const problem = repoPathProblem(p)
  if (problem) throw new CommitLineError(`line ${line}: invalid path "${p.slice(0, 200)}": ${problem}`, 422)
  return p
}

function decodeContent(v: Record<string, unknown>, line: number): Buffer {
  const content = str(v, 'content', line)!
  const encoding = str(v, 'encoding', line, false) ?? 'utf-8'
  if (encoding === 'base64') {
    const compact = content.replace(/\s+/g, '')
    if (compact.length % 4 !== 0 || !BASE64_RE.test(compact)) {
      throw new CommitLineError(`line ${line}: "content" is not valid base64`, 400)
    }
    return Buffer.from(compact, 'base64')
  }
  if (encoding === 'utf-8' || encoding === 'utf8') return Buffer.from(content, 'utf8')
  throw new CommitLineError(`line ${line}: unknown encoding "${encoding}" (use base64 or utf-8)`, 400)
}

/**
 * Parses one NDJSON line of a commit body (docs/hub-api.md §6.2). `line` is 1-based, for messages. Paths are
 * validated here so nothing is written for a commit that names an unacceptable path.
 */
export function parseCommitLine(text: string, line: number): CommitLine {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new CommitLineError(`line ${line} is not valid JSON`, 400)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CommitLineError(`line ${line} must be a JSON object with "key" and "value"`, 400)
  }
  const { key, value } = parsed as { key?: unknown; value?: unknown }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CommitLineError(`line ${line}: "value" must be an object`, 400)
  }
  const v = value as Record<string, unknown>
  switch (key) {
    case 'header': {
      const parent = str(v, 'parentCommit', line, false)
      if (parent !== null && !/^[0-9a-f]{4,40}$/i.test(parent)) {
        throw new CommitLineError(`line ${line}: "parentCommit" must be a commit id`, 400)
      }
      return {
        key,
        value: {
          summary: str(v, 'summary', line)!,
          description: str(v, 'description', line, false) ?? '',
          parentCommit: parent?.toLowerCase() ?? null,
        },
      }
    }
    case 'file':
      return { key, path: path(v, 'path', line), content: decodeContent(v, line) }
    case 'lfsFile': {
      const oid = str(v, 'oid', line)!
      if (!/^[0-9a-f]{64}$/.test(oid)) throw new CommitLineError(`line ${line}: "oid" must be a lowercase sha256`, 400)
      const algo = str(v, 'algo', line, false)
      if (algo !== null && algo !== 'sha256') throw new CommitLineError(`line ${line}: unsupported "algo" ${algo}`, 400)
      const size = v.size
      if (size !== undefined && size !== null && !(Number.isSafeInteger(size) && (size as number) >= 0)) {
        throw new CommitLineError(`line ${line}: "size" must be a non-negative integer`, 400)
      }
      return { key, path: path(v, 'path', line), oid, size: (size as number | undefined) ?? null }
    }
    case 'deletedFile':
      return { key, path: path(v, 'path', line, true) }
    case 'deletedFolder':
      return { key, path: path(v, 'path', line, true) }
    case 'copyFile': {
      const src = v.srcPath !== undefined ? 'srcPath' : 'oldPath'
      return { key, path: path(v, 'path', line), srcPath: path(v, src, line), srcRevision: str(v, 'srcRevision', line, false) }
    }
    default:
      throw new CommitLineError(
        `line ${line}: unknown key ${JSON.stringify(key)}; expected header, file, lfsFile, deletedFile, deletedFolder or copyFile`,
        400,
      )
  }
}
