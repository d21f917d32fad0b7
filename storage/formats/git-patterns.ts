import { parseWildmatch, type Wildmatch } from './wildmatch.js'

/**
 * gitignore-style path patterns, as used by `.gitattributes` and `.gitignore`, with git's rules
 * (dir.c `parse_path_pattern`, `match_basename`, `match_pathname`): a pattern without a slash
 * matches the last name of a path at any depth; with one it is anchored at the root; `*` and `?`
 * stay within a segment, `**` between slashes crosses them, `[...]` is a class. Matching compares
 * UTF-8 bytes, as git does, in time bounded by pattern length × path length (see wildmatch.ts).
 */
export interface PathPattern {
  /** Whether the pattern matches `path` (relative to the root, no leading or trailing slash; or its UTF-8 bytes). */
  match(path: string | Uint8Array): boolean
  /** The pattern ended with `/`: it matches folders only. */
  dirOnly: boolean
  negated: boolean
}

/** Bounds on one `.gitattributes` or `.gitignore`, so a hostile file cannot make matching expensive. */
export interface PatternLimits {
  /** Most patterns (lines that are not blank or comments) in one file. */
  readonly maxPatterns: number
  /** Longest pattern, in UTF-8 bytes. */
  readonly maxPatternBytes: number
}

export const DEFAULT_PATTERN_LIMITS: PatternLimits = { maxPatterns: 10_000, maxPatternBytes: 4096 }

/** A `.gitattributes` or `.gitignore` over its PatternLimits; the message names the file and the limit. */
export class PatternLimitError extends Error {
  override name = 'PatternLimitError'
}

/** Counts the patterns of `file` as they are read; throws PatternLimitError past `limits`. */
export function patternBudget(file: string, limits: PatternLimits): (pattern: string, lineNo: number) => void {
  let count = 0
  return (pattern, lineNo) => {
    if (++count > limits.maxPatterns) {
      throw new PatternLimitError(`${file} has more than ${limits.maxPatterns} patterns (the most this server accepts)`)
    }
    if (Buffer.byteLength(pattern) > limits.maxPatternBytes) {
      throw new PatternLimitError(`${file} line ${lineNo}: the pattern is longer than ${limits.maxPatternBytes} bytes (the most this server accepts)`)
    }
  }
}

/** The lines of a git config-style file: split on LF, without a leading UTF-8 BOM (git skips it). */
export function fileLines(text: string): string[] {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n')
}

const GLOB_SPECIAL = new Set([0x2a, 0x3f, 0x5b, 0x5c]) // * ? [ \

/** Compiles one pattern; null for blank lines and comments. */
export function compilePattern(raw: string): PathPattern | null {
  let p = raw
  if (p === '' || p.startsWith('#')) return null
  let negated = false
  if (p.startsWith('!')) {
    negated = true
    p = p.slice(1)
  }
  // Only one trailing slash is dropped: `a//` keeps one and then matches nothing, as in git.
  const dirOnly = p.endsWith('/')
  if (dirOnly) p = p.slice(0, -1)
  if (p === '') return null
  const bytes = Buffer.from(p, 'utf8')
  if (!p.includes('/')) {
    const body = parseWildmatch(bytes)
    return { dirOnly, negated, match: (path) => matchBasename(body, toBytes(path)) }
  }
  // Anchored: git drops one leading slash, compares the literal prefix, then wildmatches the
  // rest as a pattern of its own (so `**` right after the prefix counts as starting the pattern).
  const from = bytes[0] === 0x2f ? 1 : 0
  let prefixEnd = from
  while (prefixEnd < bytes.length && !GLOB_SPECIAL.has(bytes[prefixEnd]!)) prefixEnd++
  const prefix = bytes.subarray(from, prefixEnd)
  const body = parseWildmatch(bytes.subarray(prefixEnd))
  return { dirOnly, negated, match: (path) => matchPathname(prefix, body, toBytes(path)) }
}

function toBytes(path: string | Uint8Array): Uint8Array {
  return typeof path === 'string' ? Buffer.from(path, 'utf8') : path
}

function matchBasename(body: Wildmatch, path: Uint8Array): boolean {
  return body.test(path, path.lastIndexOf(0x2f) + 1, path.length)
}

function matchPathname(prefix: Uint8Array, body: Wildmatch, path: Uint8Array): boolean {
  if (body.never || path.length === 0 || path.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false
  return body.test(path, prefix.length, path.length)
}

const BLANKS = ' \t\r\n'

/** Splits a `.gitattributes` line into its pattern and attribute words (a pattern may be "quoted"). */
export function splitAttributesLine(line: string): { pattern: string; attrs: string[] } | null {
  // Only ASCII blanks separate fields, as in git; a pattern ends at the first one (git does not
  // honour `\ ` there: spaces in paths are written `[[:space:]]`). Scanned by hand: a RegExp
  // trimming trailing blanks backtracks quadratically on a long run of them.
  let start = 0
  let end = line.length
  while (start < end && BLANKS.includes(line[start]!)) start++
  while (end > start && BLANKS.includes(line[end - 1]!)) end--
  if (start === end || line[start] === '#') return null
  let pattern: string
  let restFrom: number
  if (line[start] === '"') {
    const close = line.indexOf('"', start + 1)
    if (close < 0 || close >= end) return null
    pattern = line.slice(start + 1, close)
    restFrom = close + 1
  } else {
    let j = start
    while (j < end && !BLANKS.includes(line[j]!)) j++
    pattern = line.slice(start, j)
    restFrom = j
  }
  const attrs: string[] = []
  for (let i = restFrom; i < end; ) {
    while (i < end && BLANKS.includes(line[i]!)) i++
    let j = i
    while (j < end && !BLANKS.includes(line[j]!)) j++
    if (j > i) attrs.push(line.slice(i, j))
    i = j
  }
  return { pattern, attrs }
}
