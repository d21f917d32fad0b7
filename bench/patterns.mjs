// .gitattributes / .gitignore matching cost (issue 13), straight on dist/ (run `npm run build`):
// the ordinary case (a 5,000-line Hub-style .gitattributes × 2,000 paths, a 200-line .gitignore)
// and hostile ones, each as the CPU time one request's rule set spends (refused: the 422's time).
// Plain Node ≥ 20 ESM: node bench/patterns.mjs

import { LfsAttributes } from '../dist/storage/formats/gitattributes.js'
import { DEFAULT_GITATTRIBUTES } from '../dist/storage/formats/gitattributes.js'
import { GitIgnore } from '../dist/storage/formats/gitignore.js'


function time(label, fn, runs = 5) {
  const ms = []
  let outcome = ''
  for (let r = 0; r < runs; r++) {
    const start = performance.now()
    try {
      outcome = `ok ${fn()}`
    } catch (err) {
      outcome = `refused (${err.name})`
    }
    ms.push(performance.now() - start)
  }
  ms.sort((a, b) => a - b)
  console.log(`${label.padEnd(64)} ${ms[runs >> 1].toFixed(1).padStart(9)} ms  ${outcome}`)
}

const escape = (p) => p.replace(/([\\[\]*?!#"])/g, '\\$1').replace(/ /g, '[[:space:]]')
const rule = (p) => `${escape(p)} filter=lfs diff=lfs merge=lfs -text\n`

// Ordinary: the default rules, then the lines the Hub appends for uncovered LFS files.
const literalPaths = Array.from({ length: 4950 }, (_, i) =>
  i % 10 === 0 ? `scans/batch ${i >> 4}/image_${i}.tiff` : i % 3 ? `data/shard-${String(i >> 6).padStart(3, '0')}/part-${i}.tiff` : `weights_${i}.ckpt2`)
const realAttrs = DEFAULT_GITATTRIBUTES + literalPaths.map(rule).join('')
const realPaths = Array.from({ length: 2000 }, (_, i) =>
  i % 4 === 0 ? literalPaths[(i * 7) % literalPaths.length] : i % 4 === 1 ? `model-${i}-of-2000.safetensors` : i % 4 === 2 ? `src/pkg_${i % 50}/module_${i}.py` : `data/train/${i}/README.md`)
const realIgnore = ['__pycache__/', '*.pyc', '.DS_Store', 'node_modules/', '/build', 'dist/', '*.log', '!keep.log', '.env', 'wandb/', 'checkpoints/**/tmp', '*.tmp']
  .concat(Array.from({ length: 188 }, (_, i) => (i % 2 ? `runs/run_${i}/` : `cache_${i}.bin`))).join('\n')

time('realistic: 5000-line .gitattributes × 2000 paths (build + match)', () => {
  const a = new LfsAttributes(realAttrs)
  return realPaths.filter((p) => a.isLfs(p)).length
})
time('realistic: 200-line .gitignore × 2000 paths', () => {
  const g = new GitIgnore(realIgnore)
  return realPaths.filter((p) => g.ignores(p)).length
})

// Hostile: the most expensive shapes the count and length limits still let through.
const longPath = 'a'.repeat(1000)
const starA = '*a'.repeat(1000) + 'b' // 2001 bytes: the longest pattern .gitignore-wise under 4096 is twice this
time('hostile: 1000 × `*a*a…b` (4001 B) .gitignore × one 1000-byte path', () => {
  const g = new GitIgnore(Array(1000).fill('*a'.repeat(2000) + 'b').join('\n'))
  return g.ignores(longPath)
}, 1)
time('hostile: 1000 × `*a*a…b` (2001 B) .gitattributes × one 1000-byte path', () => {
  const a = new LfsAttributes(Array(1000).fill(`${starA} filter=lfs`).join('\n'))
  return a.isLfs(longPath)
}, 1)
const deep = 'a/'.repeat(499) + 'ab' // 1000 bytes, 500 segments
time('hostile: 10000 literal .gitignore lines × 1000 deep paths', () => {
  const g = new GitIgnore(Array.from({ length: 10000 }, (_, i) => `x${i}`).join('\n'))
  let n = 0
  for (let i = 0; i < 1000; i++) n += g.ignores(deep) ? 1 : 0
  return n
}, 1)
time('hostile: 10000 × `[a]`×1365 .gitignore lines (compile only)', () => {
  const g = new GitIgnore(Array(10000).fill('[a]'.repeat(1365)).join('\n'))
  return g.ignores('a')
}, 1)
