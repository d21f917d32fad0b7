/**
 * gitignore-style path patterns, as used by `.gitattributes` and `.gitignore`:
 * a pattern without a slash matches a name at any depth; with one it is anchored at the root;
 * `*` and `?` stay within a segment, `**` crosses them, `[...]` is a class.
 */
export interface PathPattern {
  regex: RegExp
  /** The pattern ended with `/`: it matches folders only. */
  dirOnly: boolean
  negated: boolean
}

/** POSIX bracket classes as regex class bodies (wildmatch supports these). */
const POSIX_CLASSES: Record<string, string> = {
  space: '\\s',
  digit: '0-9',
  alpha: 'A-Za-z',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  xdigit: '0-9A-Fa-f',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
}

function classToRegex(glob: string, i: number): [string, number] | null {
  let j = i + 1
  let out = '['
  if (glob[j] === '!' || glob[j] === '^') {
    out += '^'
    j++
  }
  if (glob[j] === ']') {
    out += '\\]'
    j++
  }
  for (; j < glob.length && glob[j] !== ']'; j++) {
    const c = glob[j]!
    const posix = c === '[' ? /^\[:([a-z]+):\]/.exec(glob.slice(j)) : null
    if (posix && POSIX_CLASSES[posix[1]!]) {
      out += POSIX_CLASSES[posix[1]!]
      j += posix[0].length - 1
    } else out += c === '\\' || c === '^' ? `\\${c}` : c
  }
  if (j >= glob.length) return null
  return [`${out}]`, j]
}

function globToRegex(glob: string): string {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/'
        const atEnd = i + 2 === glob.length || glob[i + 2] === '/'
        if (atStart && atEnd) {
          if (i + 2 === glob.length) re += '.*'
          else {
            re += '(?:.*/)?'
            i++ // skip the slash after **
          }
          i++
          continue
        }
      }
      re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const cls = classToRegex(glob, i)
      if (cls) {
        re += cls[0]
        i = cls[1]
      } else re += '\\['
    } else if (c === '\\' && i + 1 < glob.length) {
      re += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return re
}

/** Compiles one pattern; null for blank lines and comments. */
export function compilePattern(raw: string): PathPattern | null {
  let p = raw
  if (p === '' || p.startsWith('#')) return null
  let negated = false
  if (p.startsWith('!')) {
    negated = true
    p = p.slice(1)
  }
  const dirOnly = p.endsWith('/')
  if (dirOnly) p = p.replace(/\/+$/, '')
  if (p === '') return null
  const anchored = p.includes('/')
  if (p.startsWith('/')) p = p.slice(1)
  const body = globToRegex(p)
  return { regex: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`), dirOnly, negated }
}

/** Splits a `.gitattributes` line into its pattern and attribute words (a pattern may be "quoted"). */
export function splitAttributesLine(line: string): { pattern: string; attrs: string[] } | null {
  // Only ASCII blanks separate fields, as in git; a pattern ends at the first one (git does not
  // honour `\ ` there: spaces in paths are written `[[:space:]]`).
  const t = line.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '')
  if (t === '' || t.startsWith('#')) return null
  let pattern: string
  let rest: string
  if (t.startsWith('"')) {
    const end = t.indexOf('"', 1)
    if (end < 0) return null
    pattern = t.slice(1, end)
    rest = t.slice(end + 1)
  } else {
    const m = /^([^ \t\r\n]+)(.*)$/.exec(t)
    if (!m) return null
    pattern = m[1]!
    rest = m[2]!
  }
  return { pattern, attrs: rest.split(/[ \t\r\n]+/).filter(Boolean) }
}
