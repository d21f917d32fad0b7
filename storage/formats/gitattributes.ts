import {
  compilePattern,
  DEFAULT_PATTERN_LIMITS,
  fileLines,
  patternBudget,
  splitAttributesLine,
  type PathPattern,
  type PatternLimits,
} from './git-patterns.js'

/** git (attr.c) ignores, with a warning, attribute lines of this many bytes or more. */
const GIT_MAX_ATTR_LINE_BYTES = 2048

interface FilterRule {
  pattern: PathPattern
  /** true: sets filter=lfs; false: sets another filter or unsets it. */
  lfs: boolean
}

/**
 * Which paths a `.gitattributes` sends through the LFS filter (the last matching line wins).
 * Throws PatternLimitError when the file is over `limits`.
 */
export class LfsAttributes {
  private readonly rules: FilterRule[] = []

  constructor(text: string, limits: PatternLimits = DEFAULT_PATTERN_LIMITS) {
    const budget = patternBudget('.gitattributes', limits)
    fileLines(text).forEach((line, i) => {
      const parsed = splitAttributesLine(line)
      if (!parsed || Buffer.byteLength(line) >= GIT_MAX_ATTR_LINE_BYTES) return
      budget(parsed.pattern, i + 1)
      if (parsed.pattern.startsWith('[attr]')) return // a macro definition, not a pattern
      const filters = parsed.attrs.filter((a) => a === 'filter' || a.startsWith('filter=') || a === '-filter' || a === '!filter')
      if (filters.length === 0) return
      const pattern = compilePattern(parsed.pattern)
      if (!pattern || pattern.negated || pattern.dirOnly) return // git ignores these in attributes files
      for (const attr of filters) this.rules.push({ pattern, lfs: attr === 'filter=lfs' })
    })
  }

  isLfs(path: string): boolean {
    const bytes = Buffer.from(path, 'utf8')
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const rule = this.rules[i]!
      if (rule.pattern.match(bytes)) return rule.lfs
    }
    return false
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
