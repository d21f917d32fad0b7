import { compilePattern, type PathPattern } from './git-patterns.js'

/** `.gitignore` rules for preupload's `shouldIgnore`: later rules win; an ignored folder hides all below it. */
export class GitIgnore {
  private readonly rules: PathPattern[]

  constructor(text: string) {
    this.rules = text
      .split(/\r?\n/)
      .map((l) => compilePattern(l.replace(/(?<!\\)\s+$/, '')))
      .filter((p): p is PathPattern => p !== null)
  }

  private matches(path: string, isDir: boolean): boolean {
    let ignored = false
    for (const rule of this.rules) {
      if (rule.dirOnly && !isDir) continue
      if (rule.regex.test(path)) ignored = !rule.negated
    }
    return ignored
  }

  ignores(path: string): boolean {
    if (this.rules.length === 0) return false
    const segments = path.split('/')
    for (let i = 1; i < segments.length; i++) {
      if (this.matches(segments.slice(0, i).join('/'), true)) return true
    }
    return this.matches(path, false)
  }
}
