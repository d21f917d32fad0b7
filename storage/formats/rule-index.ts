import type { CompiledRule } from './git-patterns.js'
import { STEP_COSTS, type MatchBudget } from './pattern-limits.js'

interface Entry {
  /** Position in the file: a later rule wins. */
  index: number
  rule: CompiledRule
}

/**
 * Rules of one `.gitattributes` or `.gitignore` (dirOnly ones aside), laid out so that finding
 * the last rule matching a path does not try every rule: literal names and paths, and `*` +
 * literal suffixes (nearly all real lines) are found by hash lookups costing O(path); patterns
 * without `*` only meet paths of their length; the others are tried, last first, down to the
 * best match found so far. Every byte hashed or compared and every rule tried is spent from
 * the caller's MatchBudget.
 */
class RuleTable {
  private readonly names = new Map<string, number>()
  private readonly paths = new Map<string, number>()
  /** By suffix length in bytes, then suffix; `suffixLengths` lists the lengths in ascending order once sorted. */
  private readonly suffixes = new Map<number, Map<string, number>>()
  private suffixLengths: number[] | null = []
  private readonly byNameLength = new Map<number, Entry[]>()
  private readonly byPathLength = new Map<number, Entry[]>()
  private readonly others: Entry[] = []

  add(index: number, rule: CompiledRule): void {
    const shape = rule.shape
    switch (shape.kind) {
      case 'never':
        return
      case 'name':
        return void this.names.set(key(shape.bytes), index)
      case 'path':
        return void this.paths.set(key(shape.bytes), index)
      case 'suffix': {
        let byKey = this.suffixes.get(shape.bytes.length)
        if (!byKey) {
          this.suffixes.set(shape.bytes.length, (byKey = new Map()))
          this.suffixLengths = null
        }
        return void byKey.set(key(shape.bytes), index)
      }
      case 'name-length':
        return push(this.byNameLength, shape.length, { index, rule })
      case 'path-length':
        return push(this.byPathLength, shape.length, { index, rule })
      case 'any':
        this.others.push({ index, rule })
    }
  }

  /** The index of the last rule matching `path[0, end)` whose last name starts at `nameStart`, or -1. */
  last(path: Buffer, nameStart: number, end: number, budget: MatchBudget): number {
    const nameLength = end - nameStart
    let best = -1
    const lookup = (map: Map<string, number>, from: number) => {
      budget.spend(STEP_COSTS.lookup + end - from)
      best = Math.max(best, map.get(path.toString('latin1', from, end)) ?? -1)
    }
    if (this.names.size) lookup(this.names, nameStart)
    if (this.paths.size) lookup(this.paths, 0)
    this.suffixLengths ??= [...this.suffixes.keys()].sort((a, b) => a - b)
    for (const length of this.suffixLengths) {
      if (length > nameLength) break
      lookup(this.suffixes.get(length)!, end - length)
    }
    best = tryRules(this.byNameLength.get(nameLength), best, path, nameStart, end, budget)
    best = tryRules(this.byPathLength.get(end), best, path, nameStart, end, budget)
    return tryRules(this.others, best, path, nameStart, end, budget)
  }
}

/** The rules of one file in order; `last` finds the value of the last one matching a path. */
export class RuleIndex<T> {
  private readonly values: T[] = []
  private readonly all = new RuleTable()
  private readonly dirsOnly = new RuleTable()

  get size(): number {
    return this.values.length
  }

  add(rule: CompiledRule, value: T): void {
    ;(rule.pattern.dirOnly ? this.dirsOnly : this.all).add(this.values.length, rule)
    this.values.push(value)
  }

  /**
   * The value of the last rule matching the path `path[0, end)` (UTF-8 bytes; dirOnly rules only
   * when `isDir`), or undefined; the work is spent from `budget`.
   */
  last(path: Buffer, end: number, isDir: boolean, budget: MatchBudget): T | undefined {
    if (this.values.length === 0) return undefined
    const nameStart = end === 0 ? 0 : path.lastIndexOf(0x2f, end - 1) + 1
    budget.spend(STEP_COSTS.lookup + end - nameStart)
    let best = this.all.last(path, nameStart, end, budget)
    if (isDir) best = Math.max(best, this.dirsOnly.last(path, nameStart, end, budget))
    return best < 0 ? undefined : this.values[best]
  }
}

/** Map keys for bytes: one char per byte. */
function key(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

function push(map: Map<number, Entry[]>, length: number, entry: Entry): void {
  const list = map.get(length)
  if (list) list.push(entry)
  else map.set(length, [entry])
}

/** The index of the last of `entries` (in file order) after `best` matching `path`, else `best`. */
function tryRules(entries: Entry[] | undefined, best: number, path: Buffer, nameStart: number, end: number, budget: MatchBudget): number {
  if (!entries) return best
  for (let i = entries.length - 1; i >= 0 && entries[i]!.index > best; i--) {
    budget.spend(STEP_COSTS.rule)
    if (entries[i]!.rule.test(path, nameStart, end, budget)) return entries[i]!.index
  }
  return best
}
