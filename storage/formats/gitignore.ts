import {
  compilePattern,
  DEFAULT_PATTERN_LIMITS,
  fileLines,
  patternBudget,
  type PathPattern,
  type PatternLimits,
} from './git-patterns.js'

/**
 * `.gitignore` rules for preupload's `shouldIgnore`: later rules win; an ignored folder hides all
 * below it. Throws PatternLimitError when the file is over `limits`.
 */
export class GitIgnore {
  private readonly rules: PathPattern[] = []

  constructor(text: string, limits: PatternLimits = DEFAULT_PATTERN_LIMITS) {
    const budget = patternBudget('.gitignore', limits)
    fileLines(text).forEach((line, i) => {
      const raw = trimTrailingSpaces(line.endsWith('\r') ? line.slice(0, -1) : line)
      if (raw === '' || raw.startsWith('#')) return
      budget(raw, i + 1)
      const rule = compilePattern(raw)
      if (rule) this.rules.push(rule)
    })
  }

  private matches(path: Uint8Array, isDir: boolean): boolean {
    let ignored = false
    for (const rule of this.rules) {
      if (rule.dirOnly && !isDir) continue
      if (rule.match(path)) ignored = !rule.negated
    }
    return ignored
  }

  ignores(path: string): boolean {
    if (this.rules.length === 0) return false
    const bytes = Buffer.from(path, 'utf8')
    for (let i = bytes.indexOf(0x2f); i >= 0; i = bytes.indexOf(0x2f, i + 1)) {
      if (this.matches(bytes.subarray(0, i), true)) return true
    }
    return this.matches(bytes, false)
  }
}

/** git's trim_trailing_spaces: drops trailing spaces (not tabs), keeping one escaped with a backslash. */
function trimTrailingSpaces(line: string): string {
  let lastSpace = -1
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === ' ') {
      if (lastSpace < 0) lastSpace = i
    } else {
      if (c === '\\' && ++i >= line.length) return line
      lastSpace = -1
    }
  }
  return lastSpace < 0 ? line : line.slice(0, lastSpace)
}
