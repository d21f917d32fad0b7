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
    if (c === '[' && glob.startsWith('[:space:]', j)) {
      out += '\\s'
      j += 8
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
  const t = line.trim()
  if (t === '' || t.startsWith('#')) return null
  let pattern: string
  let rest: string
  if (t.startsWith('"')) {
    const end = t.indexOf('"', 1)
    if (end < 0) return null
    pattern = t.slice(1, end)
    rest = t.slice(end + 1)
  } else {
    // An escaped space (`\ `) belongs to the pattern.
    const m = /^((?:\\.|[^\s\\])+)(.*)$/.exec(t)
    if (!m) return null
    pattern = m[1]!
    rest = m[2]!
  }
  return { pattern, attrs: rest.trim().split(/\s+/).filter(Boolean) }
}
