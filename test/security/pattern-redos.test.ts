/**
 * `.gitattributes` / `.gitignore` matching (issue 13): random patterns × random paths, each match
 * timed (no input may make it slow, as a backtracking RegExp did) and compared with real git's
 * `check-attr` / `check-ignore` on the same inputs — where they differ, git is right.
 */
import path from 'node:path'
import t from 'tap'
import { compilePattern, splitAttributesLine } from '../../storage/formats/git-patterns.js'
import { LfsAttributes } from '../../storage/formats/gitattributes.js'
import { GitIgnore } from '../../storage/formats/gitignore.js'
import { gitCheckIgnore, gitFilterAttr, gitSetAttrs } from '../helpers/git-oracle.js'

/** mulberry32: a seeded PRNG, so a failure names inputs that can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const random = prng(13)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))

// Pattern pieces: the nasty ones (`*`, `**`, `?`, classes, `/`) often, odd ones sometimes.
const PATTERN_ATOMS = [
  'a', 'a', 'a', 'b', 'c', '.', '*', '*', '*', '**', '**', '?', '/', '/', '[a-c]', '[!a]', '[^b]', '[]a]',
  '[[:alpha:]]', '[[:space:]]', '[[:punct:]]', '[a-]', '[\\]]', '\\*', '\\a', '[', '\\', 'é', '[[:bogus:]]', '***', '[[:x]',
]
const PATH_CHARS = ['a', 'a', 'a', 'b', 'c', '.', '*', '[', ']', ' ', '\t', 'é', '\\']

function randomPattern(): string {
  let p = ''
  for (let n = int(1, 8); n > 0; n--) p += pick(PATTERN_ATOMS)
  const r = random()
  if (r < 0.1) p = `/${p}`
  else if (r < 0.2) p = `**/${p}`
  else if (r < 0.25) p = `!${p}`
  if (random() < 0.1) p += '/'
  else if (random() < 0.05) p += '/**'
  return p
}

function randomPath(): string {
  const segments: string[] = []
  for (let n = int(1, 4); n > 0; n--) {
    let s = ''
    for (let k = int(1, 6); k > 0; k--) s += pick(PATH_CHARS)
    segments.push(s === '.' || s === '..' ? 'a' : s)
  }
  return segments.join('/')
}

const paths = [...new Set(Array.from({ length: 150 }, randomPath))]
const PER_MATCH_LIMIT_MS = 1
/** Slack over PER_MATCH_LIMIT_MS for a loaded machine (GC pauses, other processes). */
const SLACK = 3

/** Times `fn`; the best of three runs, so one GC pause does not count as the match's cost. */
function timed(fn: () => boolean): { result: boolean; ms: number } {
  let best = Infinity
  let result = false
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint()
    result = fn()
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6)
  }
  return { result, ms: best }
}

t.test('each .gitattributes pattern matches exactly the paths git says, fast', async (t) => {
  const dir = t.testdir()
  let cases = 0
  let matched = 0
  let slowest = 0
  const mismatches: string[] = []
  for (let batch = 0; batch < 3; batch++) {
    const patterns = Array.from({ length: 500 }, randomPattern)
    // One attribute per line: `check-attr -a` then tells which lines matched each path.
    const text = patterns.map((p, i) => `${p} p${i}\n`).join('')
    const git = gitSetAttrs(path.join(dir, 'attrs'), text, paths)
    patterns.forEach((raw, i) => {
      const parsed = splitAttributesLine(`${raw} p${i}`)
      const pattern = parsed && compilePattern(parsed.pattern)
      for (const p of paths) {
        // git ignores negative and folder-only patterns in attributes files.
        const { result, ms } = pattern && !pattern.negated && !pattern.dirOnly ? timed(() => pattern.match(p)) : { result: false, ms: 0 }
        slowest = Math.max(slowest, ms)
        cases++
        if (result) matched++
        if (result !== git.get(p)!.has(`p${i}`)) mismatches.push(`${JSON.stringify(raw)} vs ${JSON.stringify(p)}: git ${!result}`)
      }
    })
  }
  t.same(mismatches.slice(0, 20), [], `no difference with git over ${cases} cases`)
  t.ok(matched > cases / 100, `${matched} matches: the inputs exercise matching, not only misses`)
  t.ok(slowest < PER_MATCH_LIMIT_MS * SLACK, `slowest match ${slowest.toFixed(3)} ms`)
})

t.test('LfsAttributes agrees with git on the filter of random rule sets', async (t) => {
  const dir = t.testdir()
  const mismatches: string[] = []
  for (let round = 0; round < 10; round++) {
    const lines = Array.from({ length: int(1, 30) }, () => `${randomPattern()} ${pick(['filter=lfs', 'filter=lfs', '-filter', 'filter=x', '!filter', 'filter', 'text'])}`)
    const text = `${lines.join('\n')}\n`
    const git = gitFilterAttr(path.join(dir, `r${round}`), text, paths)
    const ours = new LfsAttributes(text)
    for (const p of paths) {
      if (ours.isLfs(p) !== (git.get(p) === 'lfs')) mismatches.push(`${JSON.stringify(text)} vs ${JSON.stringify(p)}`)
    }
  }
  t.same(mismatches.slice(0, 10), [])
})

/** Rules shaped like real files (literal names and paths, `*` + suffix, fixed width), which the rule index looks up rather than tries. */
function literalishPattern(): string {
  const name = () => Array.from({ length: int(1, 3) }, () => pick(['a', 'b', 'c', '.', 'é'])).join('')
  return pick([
    () => name(),
    () => `*${name()}`,
    () => `${name()}/${name()}`,
    () => `/${name()}`,
    () => `${name()}?`,
    () => `${name()}/[ab]${name()}`,
    () => `*${name()}*`,
    () => `${name()}/`,
    () => `!${name()}`,
  ])()
}

t.test('rule sets of mostly literal rules: the last matching rule wins as in git', async (t) => {
  const dir = t.testdir()
  const mismatches: string[] = []
  for (let round = 0; round < 15; round++) {
    const n = int(5, 60)
    const attrs = `${Array.from({ length: n }, () => `${literalishPattern()} ${pick(['filter=lfs', 'filter=lfs', '-filter', 'filter=x'])}`).join('\n')}\n`
    const git = gitFilterAttr(path.join(dir, `a${round}`), attrs, paths)
    const ours = new LfsAttributes(attrs)
    for (const p of paths) if (ours.isLfs(p) !== (git.get(p) === 'lfs')) mismatches.push(`${JSON.stringify(attrs)} vs ${JSON.stringify(p)}`)
    const ignore = `${Array.from({ length: n }, literalishPattern).join('\n')}\n`
    const gitIgnored = gitCheckIgnore(path.join(dir, `i${round}`), ignore, paths)
    const ourIgnore = new GitIgnore(ignore)
    for (const p of paths) if (ourIgnore.ignores(p) !== gitIgnored.has(p)) mismatches.push(`${JSON.stringify(ignore)} vs ${JSON.stringify(p)}`)
  }
  t.same(mismatches.slice(0, 10), [])
})

t.test('GitIgnore agrees with git check-ignore on random rule sets, fast', async (t) => {
  const dir = t.testdir()
  let cases = 0
  let ignored = 0
  let slowest = 0
  const mismatches: string[] = []
  for (let round = 0; round < 60; round++) {
    const rules = Array.from({ length: int(1, 4) }, () => randomPattern() + pick(['', '', '', ' ', '  ', '\\ ', '\t']))
    const text = `${rules.join('\n')}\n`
    const git = gitCheckIgnore(path.join(dir, `r${round}`), text, paths)
    const ours = new GitIgnore(text)
    for (const p of paths) {
      const { result, ms } = timed(() => ours.ignores(p))
      slowest = Math.max(slowest, ms)
      cases++
      if (result) ignored++
      if (result !== git.has(p)) mismatches.push(`${JSON.stringify(text)} vs ${JSON.stringify(p)}: git ${!result}`)
    }
  }
  t.same(mismatches.slice(0, 20), [], `no difference with git over ${cases} cases`)
  t.ok(ignored > cases / 100, `${ignored} ignored: the inputs exercise matching, not only misses`)
  t.ok(slowest < PER_MATCH_LIMIT_MS * SLACK, `slowest check ${slowest.toFixed(3)} ms`)
})

t.test('patterns that made the RegExp backtrack stay fast on long paths', async (t) => {
  const long = 'a'.repeat(1000)
  const deep = Array.from({ length: 300 }, () => 'a').join('/')
  const cases: [string, string, boolean][] = [
    ['*a*a*a*a*a*a*a*a*a*ab', 'a'.repeat(36), false],
    ['*a*a*a*a*a*a*a*a*a*ab', long, false],
    ['*a*a*a*a*a*a*a*a*a*a', long, true],
    ['*'.repeat(50) + 'b', long, false],
    ['*?*?*?*?*?*?*?*?*?*?b', long, false],
    ['**/a/**/a/**/a/**/a/**/b', deep, false],
    ['**/a/**/a/**/a/**/a/**/a', deep, true],
    ['a/**/*a*a*a*a*a*b', `a/${long}`, false],
    ['[a-z]*[a-z]*[a-z]*[a-z]*[!a]', long, false],
  ]
  for (const [raw, p, expected] of cases) {
    const pattern = compilePattern(raw)!
    const { result, ms } = timed(() => pattern.match(p))
    t.equal(result, expected, `${raw.slice(0, 40)} against ${p.length} bytes`)
    t.ok(ms < 100, `${raw.slice(0, 40)} against ${p.length} bytes took ${ms.toFixed(2)} ms`)
  }
  // The worst a pattern within the default limit (4096 bytes) can do against a 1000-byte path:
  // bounded by pattern × path (~20 ms here), where the RegExp needed more than the age of the universe.
  const worst = compilePattern(`${'*a'.repeat(2000)}b`)!
  const { result, ms } = timed(() => worst.match(long))
  t.equal(result, false)
  t.ok(ms < 1000, `4001-byte pattern against 1000 bytes took ${ms.toFixed(2)} ms`)
})
