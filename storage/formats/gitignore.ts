import { compileRule, fileLines } from './git-patterns.js'
import { DEFAULT_PATTERN_LIMITS, MatchBudget, patternCounter, type PatternLimits } from './pattern-limits.js'
import { RuleIndex } from './rule-index.js'

/**
 * `.gitignore` rules for preupload's `shouldIgnore`: later rules win; an ignored folder hides all
 * below it. Throws PatternLimitError when the file is over `limits`, and PatternBudgetError (one)
 * once compiling and matching have spent `budget` — share one budget between the rule sets of a request.
 */
export class GitIgnore {
  /** Whether the rule ignores (false: a `!` rule, which re-includes). */
  private readonly rules = new RuleIndex<boolean>()

  constructor(
    text: string,
    limits: PatternLimits = DEFAULT_PATTERN_LIMITS,
    private readonly budget = new MatchBudget(limits.maxMatchSteps),
  ) {
    const count = patternCounter('.gitignore', limits)
    fileLines(text, budget).forEach((line, i) => {
      const raw = trimTrailingSpaces(line.endsWith('\r') ? line.slice(0, -1) : line)
      if (raw === '' || raw.startsWith('#')) return
      count(raw, i + 1)
      const rule = compileRule(raw, budget)
      if (rule) this.rules.add(rule, !rule.pattern.negated)
    })
  }


  ignores(path: string): boolean {
    if (this.rules.size === 0) return false
    const bytes = Buffer.from(path, 'utf8')
    for (let i = bytes.indexOf(0x2f); i >= 0; i = bytes.indexOf(0x2f, i + 1)) {
      if (this.rules.last(bytes, i, true, this.budget)) return true
    }
    return this.rules.last(bytes, bytes.length, false, this.budget) ?? false
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
