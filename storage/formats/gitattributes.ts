import { compileRule, fileLines, splitAttributesLine } from './git-patterns.js'
import { DEFAULT_PATTERN_LIMITS, MatchBudget, patternCounter, type PatternLimits } from './pattern-limits.js'
import { RuleIndex } from './rule-index.js'

/** git (attr.c) ignores, with a warning, attribute lines of this many bytes or more. */
const GIT_MAX_ATTR_LINE_BYTES = 2048

/**
 * Which paths a `.gitattributes` sends through the LFS filter (the last matching line wins).
 * Throws PatternLimitError when the file is over `limits`, and PatternBudgetError (one) once
 * compiling and matching have spent `budget` — share one budget between the rule sets of a request.
 */
export class LfsAttributes {
  /** true: sets filter=lfs; false: sets another filter or unsets it. */
  private readonly rules = new RuleIndex<boolean>()

  constructor(
    text: string,
    limits: PatternLimits = DEFAULT_PATTERN_LIMITS,
    private readonly budget = new MatchBudget(limits.maxMatchSteps),
  ) {
    const count = patternCounter('.gitattributes', limits)
    fileLines(text, budget).forEach((line, i) => {
      const parsed = splitAttributesLine(line)
      if (!parsed || Buffer.byteLength(line) >= GIT_MAX_ATTR_LINE_BYTES) return
      count(parsed.pattern, i + 1)
      if (parsed.pattern.startsWith('[attr]')) return // a macro definition, not a pattern
      const filters = parsed.attrs.filter((a) => a === 'filter' || a.startsWith('filter=') || a === '-filter' || a === '!filter')
      if (filters.length === 0) return
      const rule = compileRule(parsed.pattern, budget)
      if (!rule || rule.pattern.negated || rule.pattern.dirOnly) return // git ignores these in attributes files
      for (const attr of filters) this.rules.add(rule, attr === 'filter=lfs')
    })
  }

  isLfs(path: string): boolean {
    const bytes = Buffer.from(path, 'utf8')
    return this.rules.last(bytes, bytes.length, false, this.budget) ?? false
  }
}

/** The line the Hub appends for an LFS file no rule covers: the exact path, spaces escaped. */
export function lfsRuleFor(path: string): string {
  const escaped = path.replace(/([\\[\]*?!#"])/g, '\\$1').replace(/ /g, '[[:space:]]')
  return `${escaped} filter=lfs diff=lfs merge=lfs -text`
}

const ALL_TYPES = [
  '*.7z', '*.arrow', '*.bin', '*.bz2', '*.ckpt', '*.ftz', '*.gz', '*.h5', '*.joblib', '*.lfs.*', '*.mlmodel',
  '*.model', '*.msgpack', '*.npy', '*.npz', '*.onnx', '*.ot', '*.parquet', '*.pb', '*.pickle', '*.pkl', '*.pt',
  '*.pth', '*.rar', '*.safetensors', 'saved_model/**/*', '*.tar.*', '*.tar', '*.tflite', '*.tgz', '*.wasm', '*.xz',
  '*.zip', '*.zst', '*tfevents*',
]
const NEWER = [
  '*.lz4', '*.avro', '*.mds', '*.gguf', '*.mp3', '*.ogg', '*.wav', '*.flac', '*.jpg', '*.jpeg', '*.png', '*.gif',
  '*.webp', '*.mp4', '*.webm',
]

/** The `.gitattributes` of a new repository (spec Appendix A). */
export const DEFAULT_GITATTRIBUTES = [...ALL_TYPES, ...NEWER].map((p) => `${p} filter=lfs diff=lfs merge=lfs -text\n`).join('')
