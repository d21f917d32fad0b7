import { compilePattern, splitAttributesLine, type PathPattern } from './git-patterns.js'

interface FilterRule {
  pattern: PathPattern
  /** true: sets filter=lfs; false: sets another filter or unsets it. */
  lfs: boolean
}

/** Which paths a `.gitattributes` sends through the LFS filter (the last matching line wins). */
export class LfsAttributes {
  private readonly rules: FilterRule[] = []

  constructor(text: string) {
    for (const line of text.split(/\r?\n/)) {
      const parsed = splitAttributesLine(line)
      if (!parsed) continue
      const pattern = compilePattern(parsed.pattern)
      if (!pattern || pattern.negated || pattern.dirOnly) continue // git ignores these in attributes files
      for (const attr of parsed.attrs) {
        if (attr === 'filter=lfs') this.rules.push({ pattern, lfs: true })
        else if (attr.startsWith('filter=') || attr === '-filter' || attr === '!filter') this.rules.push({ pattern, lfs: false })
      }
    }
  }

  isLfs(path: string): boolean {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const rule = this.rules[i]!
      if (rule.pattern.regex.test(path)) return rule.lfs
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
