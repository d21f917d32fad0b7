/** Bounds on `.gitattributes` / `.gitignore` matching, so hostile patterns or paths cannot make it expensive. */
export interface PatternLimits {
  /** Most patterns (lines that are not blank or comments) in one file. */
  readonly maxPatterns: number
  /** Longest pattern, in UTF-8 bytes. */
  readonly maxPatternBytes: number
  /** Most matching steps (see MatchBudget) one request may spend compiling and matching its patterns. */
  readonly maxMatchSteps: number
}

export const DEFAULT_PATTERN_LIMITS: PatternLimits = { maxPatterns: 10_000, maxPatternBytes: 4096, maxMatchSteps: 64_000_000 }

/** A `.gitattributes` or `.gitignore` over its PatternLimits; the message names the file and the limit. */
export class PatternLimitError extends Error {
  override name = 'PatternLimitError'
}

/** Counts the patterns of `file` as they are read; throws PatternLimitError past `limits`. */
export function patternCounter(file: string, limits: PatternLimits): (pattern: string, lineNo: number) => void {
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

/**
 * What the work costs in MatchBudget steps: a file byte read (split, parsed, compiled), an
 * active matcher state on one path byte, a rule tried on a path, and one lookup of a path in a
 * rule index (plus a step per byte hashed). A step is about 2–10 ns of this code on one core
 * (bench/patterns.mjs, each shape at its worst), so the default 64M steps is ~150–300 ms at worst; a 5,000-line
 * .gitattributes against 20,000 paths (one big commit) takes ~60M.
 */
export const STEP_COSTS = { fileByte: 16, state: 8, rule: 10, lookup: 128 } as const

/**
 * The matching work one request may spend on `.gitattributes` / `.gitignore` patterns, counted
 * in steps: one active matcher state on one path byte, one byte compared or hashed, one rule
 * tried. The count and length limits alone leave pattern × path × rules × paths unbounded (a
 * thousand 4 KB `*a*a…` patterns against one long path held the event loop for 30 s), so the
 * rule sets of one preupload or commit share one budget and stop when it is spent.
 */
export class MatchBudget {
  private left: number

  constructor(readonly steps: number) {
    this.left = steps
  }

  /** Steps still allowed. */
  get remaining(): number {
    return this.left
  }

  /** Counts `n` steps; throws PatternBudgetError once more than `steps` have been spent. */
  spend(n: number): void {
    this.left -= n
    if (this.left < 0) throw new PatternBudgetError(this.steps)
  }
}

/** A budget that never runs out, for callers that match trusted or tiny inputs (tests, tools). */
export const UNLIMITED = new MatchBudget(Number.POSITIVE_INFINITY)

/** A request whose patterns and paths would take more than its MatchBudget to match. */
export class PatternBudgetError extends PatternLimitError {
  override name = 'PatternBudgetError'
  constructor(steps: number) {
    super(
      `The .gitattributes/.gitignore patterns are too expensive to evaluate for this request (over ${steps} matching steps, ` +
        'the most this server spends on one request): use fewer or simpler patterns, or send fewer or shorter paths per request',
    )
  }
}
