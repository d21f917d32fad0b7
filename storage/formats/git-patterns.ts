import { STEP_COSTS, UNLIMITED, type MatchBudget } from './pattern-limits.js'
import { parseWildmatch, type Wildmatch } from './wildmatch.js'

/**
 * gitignore-style path patterns, as used by `.gitattributes` and `.gitignore`, with git's rules
 * (dir.c `parse_path_pattern`, `match_basename`, `match_pathname`): a pattern without a slash
 * matches the last name of a path at any depth; with one it is anchored at the root; `*` and `?`
 * stay within a segment, `**` between slashes crosses them, `[...]` is a class. Matching compares
 * UTF-8 bytes, as git does, in time bounded by pattern length × path length (see wildmatch.ts).
 */
export interface PathPattern {
  /**
   * Whether the pattern matches `path` (relative to the root, no leading or trailing slash; or its
   * UTF-8 bytes), spending the work from `budget`.
   */
  match(path: string | Uint8Array, budget?: MatchBudget): boolean
  /** The pattern ended with `/`: it matches folders only. */
  dirOnly: boolean
  negated: boolean
}

/**
 * The lines of a git config-style file: split on LF, without a leading UTF-8 BOM (git skips it).
 * Reading, parsing and compiling them is paid here from `budget`, in proportion to the text.
 */
export function fileLines(text: string, budget: MatchBudget): string[] {
  budget.spend(STEP_COSTS.fileByte * (text.length + 1))
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n')
}

const GLOB_SPECIAL = new Set([0x2a, 0x3f, 0x5b, 0x5c]) // * ? [ \

/**
 * Which paths a pattern can match, as far as an index needs to know to skip trying it: most
 * real patterns are a literal name or path, or `*` and a literal suffix like `*.safetensors`.
 */
export type PatternShape =
  /** Exactly this last name (UTF-8 bytes). */
  | { kind: 'name'; bytes: Uint8Array }
  /** Exactly this path. */
  | { kind: 'path'; bytes: Uint8Array }
  /** Any last name ending with these bytes. */
  | { kind: 'suffix'; bytes: Uint8Array }
  /** Only last names of this many bytes. */
  | { kind: 'name-length'; length: number }
  /** Only paths of this many bytes. */
  | { kind: 'path-length'; length: number }
  /** Anything: it must be tried. */
  | { kind: 'any' }
  /** Nothing at all (e.g. an unterminated `[`). */
  | { kind: 'never' }

/** Compiles one pattern; null for blank lines and comments. Parsing spends from `budget`. */
export function compilePattern(raw: string, budget: MatchBudget = UNLIMITED): PathPattern | null {
  return compileRule(raw, budget)?.pattern ?? null
}

/** A compiled pattern as a rule index uses it. */
export interface CompiledRule {
  pattern: PathPattern
  shape: PatternShape
  /** pattern.match on the UTF-8 bytes `path[0, end)`, whose last name starts at `nameStart` (after the last `/`, else 0). */
  test(path: Uint8Array, nameStart: number, end: number, budget: MatchBudget): boolean
}

/** compilePattern, with what a rule index needs. */
export function compileRule(raw: string, budget: MatchBudget = UNLIMITED): CompiledRule | null {
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
    const body = parseWildmatch(bytes, budget)
    return rule(dirOnly, negated, nameShape(body), (path, nameStart, end, b) => body.test(path, nameStart, end, b))
  }
  // Anchored: git drops one leading slash, compares the literal prefix, then wildmatches the
  // rest as a pattern of its own (so `**` right after the prefix counts as starting the pattern).
  const from = bytes[0] === 0x2f ? 1 : 0
  let prefixEnd = from
  while (prefixEnd < bytes.length && !GLOB_SPECIAL.has(bytes[prefixEnd]!)) prefixEnd++
  const prefix = bytes.subarray(from, prefixEnd)
  const body = parseWildmatch(bytes.subarray(prefixEnd), budget)
  return rule(dirOnly, negated, pathShape(prefix, body), (path, _, end, b) => matchPathname(prefix, body, path, end, b))
}

function rule(dirOnly: boolean, negated: boolean, shape: PatternShape, test: CompiledRule['test']): CompiledRule {
  const match = (path: string | Uint8Array, budget = UNLIMITED) => {
    const bytes = typeof path === 'string' ? Buffer.from(path, 'utf8') : path
    return test(bytes, bytes.lastIndexOf(0x2f) + 1, bytes.length, budget)
  }
  return { pattern: { dirOnly, negated, match }, shape, test }
}

function nameShape(body: Wildmatch): PatternShape {
  if (body.never) return { kind: 'never' }
  if (body.literal) return { kind: 'name', bytes: body.literal }
  if (body.suffix) return { kind: 'suffix', bytes: body.suffix }
  return body.width >= 0 ? { kind: 'name-length', length: body.width } : { kind: 'any' }
}

function pathShape(prefix: Uint8Array, body: Wildmatch): PatternShape {
  // matchPathname never matches an empty path.
  if (body.never || (body.width === 0 && prefix.length === 0)) return { kind: 'never' }
  if (body.literal) return { kind: 'path', bytes: Buffer.concat([prefix, body.literal]) }
  return body.width >= 0 ? { kind: 'path-length', length: prefix.length + body.width } : { kind: 'any' }
}

function matchPathname(prefix: Uint8Array, body: Wildmatch, path: Uint8Array, end: number, budget: MatchBudget): boolean {
  if (body.never || end === 0 || end < prefix.length) return false
  let i = 0
  while (i < prefix.length && path[i] === prefix[i]) i++
  budget.spend(i)
  return i === prefix.length && body.test(path, prefix.length, end, budget)
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
