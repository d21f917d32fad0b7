/**
 * git's wildmatch with WM_PATHNAME (the matcher behind `.gitattributes` and `.gitignore`), on bytes.
 *
 * git matches by backtracking, which users can make slow; a RegExp of the same shape is worse
 * (`*a*a*a*a*a*a*a*a*a*ab` against 36 `a`s took seconds). Here a pattern is parsed once into
 * tokens and a path is matched by carrying the set of token positions the pattern can be at after
 * each byte, so a match costs at most O(tokens × path bytes) whatever the input. That work is
 * counted against the caller's MatchBudget (one step per active state per byte), as many patterns
 * against many paths still add up.
 */

import { STEP_COSTS, type MatchBudget } from './pattern-limits.js'

const LIT = 0 // one given byte
const ANY = 1 // `?`: one byte but `/`
const CLASS = 2 // `[...]`: one byte of a set, never `/`
const STAR = 3 // `*`: any run of bytes without `/`
const GLOBSTAR = 4 // `**` between slashes: any run of bytes
const FORK = 5 // reads nothing: goes on with the next token or skips the `**/` after it

const SLASH = 0x2f
const BACKSLASH = 0x5c

/** A parsed pattern body; `never` when git can never match it (e.g. an unterminated `[`). */
export interface Wildmatch {
  readonly never: boolean
  /** Bytes it matches, when it has no `*`: it can only match a text of that length; else -1. */
  readonly width: number
  /** When every token is a literal byte: those bytes, the only text it matches; else null. */
  readonly literal: Uint8Array | null
  /** When it is one `*` then literal bytes: those bytes (it matches any text without `/` ending with them); else null. */
  readonly suffix: Uint8Array | null
  /** Whether the pattern matches `text[start, end)` entirely; the work is spent from `budget`. */
  test(text: Uint8Array, start: number, end: number, budget: MatchBudget): boolean
}

const NEVER: Wildmatch = { never: true, width: -1, literal: null, suffix: null, test: () => false }

/** The POSIX classes wildmatch knows, by git's own ctype table: ASCII only, `space` is `\t\n\r `. */
const POSIX = new Map<string, (c: number) => boolean>([
  ['alnum', (c) => isDigit(c) || isAlpha(c)],
  ['alpha', isAlpha],
  ['blank', (c) => c === 0x20 || c === 0x09],
  ['cntrl', (c) => c < 0x20 || c === 0x7f],
  ['digit', isDigit],
  ['graph', (c) => c > 0x20 && c < 0x7f],
  ['lower', (c) => c >= 0x61 && c <= 0x7a],
  ['print', (c) => c >= 0x20 && c < 0x7f],
  ['punct', (c) => c > 0x20 && c < 0x7f && !isDigit(c) && !isAlpha(c)],
  ['space', (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d],
  ['upper', (c) => c >= 0x41 && c <= 0x5a],
  ['xdigit', (c) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)],
])

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}

/**
 * Parses the `[...]` starting at `p[i]` exactly as wildmatch.c walks it: `!`/`^` negate, a `]`
 * first is literal, `a-z` ranges, `\x` escapes, `[:name:]` classes, a `[` not opening `[:` is
 * literal. Returns the bytes it accepts and the index after the `]`, or null when git aborts.
 * Spends a step per table entry it writes (256 for the table, each range and each `[:name:]`).
 */
function parseClass(p: Uint8Array, i: number, budget: MatchBudget): { set: Uint8Array; next: number } | null {
  budget.spend(256)
  const set = new Uint8Array(256)
  const add = (test: (c: number) => boolean) => {
    budget.spend(256)
    for (let c = 0; c < 256; c++) if (test(c)) set[c] = 1
  }
  let j = i + 1
  let negated = false
  if (p[j] === 0x21 || p[j] === 0x5e) {
    negated = true
    j++
  }
  let prev = -1 // the byte a `-` may start a range from; -1 after a range or a class
  for (let first = true; first || p[j] !== 0x5d; first = false) {
    if (j >= p.length) return null
    const c = p[j]!
    if (c === BACKSLASH) {
      if (++j >= p.length) return null
      set[p[j]!] = 1
      prev = p[j]!
    } else if (c === 0x2d && prev >= 0 && j + 1 < p.length && p[j + 1] !== 0x5d) {
      let hi = p[++j]!
      if (hi === BACKSLASH) {
        if (++j >= p.length) return null
        hi = p[j]!
      }
      budget.spend(hi - prev + 1)
      for (let x = prev; x <= hi; x++) set[x] = 1
      prev = -1
    } else if (c === 0x5b && p[j + 1] === 0x3a) {
      let k = j + 2
      while (k < p.length && p[k] !== 0x5d) k++
      budget.spend(k - j) // this scan repeats for every `[:` before the `]`: quadratic in a class
      if (k >= p.length) return null
      if (k - (j + 2) - 1 < 0 || p[k - 1] !== 0x3a) {
        set[0x5b] = 1 // no `:]`: the `[` is literal and the scan goes on after it
        prev = 0x5b
      } else {
        const test = POSIX.get(Buffer.from(p.subarray(j + 2, k - 1)).toString('latin1'))
        if (!test) return null
        add(test)
        prev = -1
        j = k
      }
    } else {
      set[c] = 1
      prev = c
    }
    j++
  }
  if (negated) {
    budget.spend(256)
    for (let c = 0; c < 256; c++) set[c] = set[c] ? 0 : 1
  }
  set[SLASH] = 0
  return { set, next: j + 1 }
}

/**
 * Parses a pattern body (after git has stripped `!`, a trailing `/`, a leading `/` and any literal
 * prefix). `**` counts as "between slashes" when it starts the body or follows `/`, and ends it or
 * precedes `/` or `\/` — as in wildmatch.c, where the start is wherever the match began.
 * Spends the class tables from `budget` (the caller pays for the pattern's bytes).
 */
export function parseWildmatch(p: Uint8Array, budget: MatchBudget): Wildmatch {
  const kinds: number[] = []
  const args: number[] = [] // LIT: the byte; CLASS: index in sets
  const sets: Uint8Array[] = []
  const push = (kind: number, arg = 0) => {
    kinds.push(kind)
    args.push(arg)
  }
  let i = 0
  while (i < p.length) {
    const c = p[i]!
    if (c === BACKSLASH) {
      if (i + 1 >= p.length) return NEVER // git compares the text with the pattern's final NUL
      push(LIT, p[i + 1]!)
      i += 2
    } else if (c === 0x3f) {
      push(ANY)
      i++
    } else if (c === 0x2a) {
      let j = i + 1
      while (p[j] === 0x2a) j++
      const delimited =
        j - i >= 2 &&
        (i === 0 || p[i - 1] === SLASH) &&
        (j === p.length || p[j] === SLASH || (p[j] === BACKSLASH && p[j + 1] === SLASH))
      // `**/` may also match nothing at all, slash included (git tries that first).
      if (delimited && p[j] === SLASH) push(FORK)
      push(delimited ? GLOBSTAR : STAR)
      i = j
    } else if (c === 0x5b) {
      const cls = parseClass(p, i, budget)
      if (!cls) return NEVER
      push(CLASS, sets.length)
      sets.push(cls.set)
      i = cls.next
    } else {
      push(LIT, c)
      i++
    }
  }
  return compile(Uint8Array.from(kinds), Int32Array.from(args), sets)
}

function compile(kinds: Uint8Array, args: Int32Array, sets: Uint8Array[]): Wildmatch {
  const n = kinds.length
  const literalFrom = (from: number) => {
    for (let s = from; s < n; s++) if (kinds[s] !== LIT) return null
    return Uint8Array.from(args.subarray(from))
  }
  if (!kinds.some((k) => k === STAR || k === GLOBSTAR)) {
    return { never: false, width: n, literal: literalFrom(0), suffix: null, test: fixedWidth(kinds, args, sets) }
  }
  const suffix = kinds[0] === STAR ? literalFrom(1) : null

  // Scratch for the simulation, reused across calls (matching never re-enters itself).
  let cur = new Int32Array(n + 1)
  let next = new Int32Array(n + 1)
  const seen = new Uint32Array(n + 1)
  let stamp = 0

  /** Adds state `s` and everything reachable from it without reading a byte; returns the new size. */
  const add = (list: Int32Array, size: number, s: number): number => {
    while (seen[s] !== stamp) {
      seen[s] = stamp
      list[size++] = s
      if (s === n) break
      const k = kinds[s]!
      if (k === FORK) size = add(list, size, s + 3) // past FORK, GLOBSTAR and `/`
      else if (k !== STAR && k !== GLOBSTAR) break
      s++
    }
    return size
  }

  return {
    never: false,
    width: -1,
    literal: null,
    suffix,
    test(text, start, end, budget) {
      if (stamp >= 0xfffffff0) {
        seen.fill(0)
        stamp = 0
      }
      stamp++
      let size = add(cur, 0, 0)
      // States are summed locally and spent once (or as soon as they exceed what is left).
      const left = budget.remaining / STEP_COSTS.state
      let steps = 1
      for (let t = start; t < end && size > 0; t++) {
        steps += size
        if (steps > left) budget.spend(steps * STEP_COSTS.state)
        const b = text[t]!
        stamp++
        let nextSize = 0
        for (let q = 0; q < size; q++) {
          const s = cur[q]!
          if (s === n) continue
          switch (kinds[s]) {
            case LIT:
              if (b === args[s]) nextSize = add(next, nextSize, s + 1)
              break
            case ANY:
              if (b !== SLASH) nextSize = add(next, nextSize, s + 1)
              break
            case CLASS:
              if (sets[args[s]!]![b]) nextSize = add(next, nextSize, s + 1)
              break
            case STAR:
              if (b !== SLASH) nextSize = add(next, nextSize, s)
              break
            case GLOBSTAR:
              nextSize = add(next, nextSize, s)
          }
        }
        ;[cur, next] = [next, cur]
        size = nextSize
      }
      budget.spend((steps + size) * STEP_COSTS.state)
      for (let q = 0; q < size; q++) if (cur[q] === n) return true
      return false
    },
  }
}

/** Without `*` a pattern reads exactly one byte per token: a straight comparison. */
function fixedWidth(kinds: Uint8Array, args: Int32Array, sets: Uint8Array[]): Wildmatch['test'] {
  return (text, start, end, budget) => {
    if (end - start !== kinds.length) return false
    budget.spend(kinds.length)
    for (let s = 0; s < kinds.length; s++) {
      const b = text[start + s]!
      const k = kinds[s]
      if (k === LIT ? b !== args[s] : b === SLASH || (k === CLASS && !sets[args[s]!]![b])) return false
    }
    return true
  }
}
