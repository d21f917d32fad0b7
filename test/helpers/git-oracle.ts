import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** Environment for spawned git: no user or system config (no global excludes, attributes, hooks). */
export const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.org',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.org',
}

/** Runs git and returns stdout; throws with stderr on a non-zero exit. */
export function git(args: string[], options: { cwd?: string; input?: string } = {}): string {
  return execFileSync('git', args, {
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
  })
}

/** What real git says the `filter` attribute of each path is, under a root `.gitattributes` of `text`. */
export function gitFilterAttr(workdir: string, text: string, paths: string[]): Map<string, string> {
  fs.mkdirSync(workdir, { recursive: true })
  if (!fs.existsSync(path.join(workdir, '.git'))) git(['init', '-q', workdir])
  fs.writeFileSync(path.join(workdir, '.gitattributes'), text)
  const out = git(['-C', workdir, 'check-attr', '--stdin', '-z', 'filter'], { input: paths.map((p) => `${p}\0`).join('') }).split('\0')
  const result = new Map<string, string>()
  for (let i = 0; i + 2 < out.length; i += 3) result.set(out[i]!, out[i + 2]!)
  return result
}

/**
 * The files real git ignores when `files` exist in a fresh work tree with a root `.gitignore` of
 * `text` (`git ls-files -o -i`, which lists files below ignored folders too).
 */
export function gitIgnoredFiles(workdir: string, text: string, files: string[]): Set<string> {
  git(['init', '-q', workdir])
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(workdir, f)), { recursive: true })
    fs.writeFileSync(path.join(workdir, f), 'x')
  }
  fs.writeFileSync(path.join(workdir, '.gitignore'), text)
  const out = git(['-C', workdir, 'ls-files', '-o', '-i', '--exclude-standard', '-z'])
  return new Set(out.split('\0').filter(Boolean))
}

/**
 * Which attributes real git sets on each path under a root `.gitattributes` of `text`
 * (`git check-attr -a`, one batch): with one attribute name per line, this tells which lines match.
 */
export function gitSetAttrs(workdir: string, text: string, paths: string[]): Map<string, Set<string>> {
  fs.mkdirSync(workdir, { recursive: true })
  if (!fs.existsSync(path.join(workdir, '.git'))) git(['init', '-q', workdir])
  fs.writeFileSync(path.join(workdir, '.gitattributes'), text)
  const out = execFileSync('git', ['-C', workdir, 'check-attr', '--stdin', '-z', '-a'], {
    env: GIT_ENV,
    input: paths.map((p) => `${p}\0`).join(''),
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'ignore'], // negative patterns draw a warning per line
  }).toString('utf8').split('\0')
  const result = new Map<string, Set<string>>(paths.map((p) => [p, new Set<string>()]))
  for (let i = 0; i + 2 < out.length; i += 3) result.get(out[i]!)?.add(out[i + 1]!)
  return result
}

/**
 * The paths real git ignores under a root `.gitignore` of `text`, files or not on disk
 * (`git check-ignore --no-index -v -n`, one batch; parent folders count, as for a work tree).
 */
export function gitCheckIgnore(workdir: string, text: string, paths: string[]): Set<string> {
  fs.mkdirSync(workdir, { recursive: true })
  if (!fs.existsSync(path.join(workdir, '.git'))) git(['init', '-q', workdir])
  fs.writeFileSync(path.join(workdir, '.gitignore'), text)
  const run = spawnSync('git', ['-C', workdir, 'check-ignore', '--stdin', '-z', '--no-index', '-v', '-n'], {
    env: GIT_ENV,
    input: paths.map((p) => `${p}\0`).join(''),
    maxBuffer: 64 * 1024 * 1024,
  })
  // Exit status 1 only says that nothing was ignored.
  if (run.status !== 0 && run.status !== 1) throw new Error(`git check-ignore: ${run.stderr.toString()}`)
  const out = run.stdout.toString('utf8').split('\0')
  const ignored = new Set<string>()
  for (let i = 0; i + 3 < out.length; i += 4) {
    if (out[i] !== '' && !out[i + 2]!.startsWith('!')) ignored.add(out[i + 3]!)
  }
  return ignored
}
