import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Test } from 'tap'
import { authed, type TestServer } from './server.js'

export interface GitResult {
  code: number
  stdout: string
  stderr: string
}

/** A private git setup: its own HOME (so nothing from the machine's config leaks in), no prompts. */
export interface GitClient {
  home: string
  env: Record<string, string>
  /** Runs git; rejects on a non-zero exit unless `allowFail`. */
  git(args: string[], opts?: { cwd?: string; env?: Record<string, string>; allowFail?: boolean }): Promise<GitResult>
}

/** Whether git-lfs is installed (Debian/Ubuntu: `apt-get install git-lfs`). */
export function hasGitLfs(): boolean {
  return spawnSync('git', ['lfs', 'version'], { stdio: 'ignore' }).status === 0
}

/** The reason to skip a test that needs git-lfs, or false. */
export function needsGitLfs(): string | false {
  return hasGitLfs() ? false : 'git-lfs is not installed: apt-get install -y git-lfs'
}

export async function gitClient(t: Test, opts: { lfs?: boolean } = {}): Promise<GitClient> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-git-home-'))
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    // Never walk up out of the temp folders: a clone folder that vanished must not make git find
    // (and commit to) whatever repository holds the test run.
    GIT_CEILING_DIRECTORIES: fs.realpathSync(os.tmpdir()),
    GIT_AUTHOR_NAME: 'Tester',
    GIT_AUTHOR_EMAIL: 'tester@example.org',
    GIT_COMMITTER_NAME: 'Tester',
    GIT_COMMITTER_EMAIL: 'tester@example.org',
    LC_ALL: 'C',
  }
  fs.writeFileSync(
    path.join(home, '.gitconfig'),
    '[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n[pull]\n\trebase = true\n[protocol]\n\tversion = 2\n',
  )
  const git = (args: string[], o: { cwd?: string; env?: Record<string, string>; allowFail?: boolean } = {}) =>
    new Promise<GitResult>((resolve, reject) => {
      execFile('git', args, { cwd: o.cwd ?? home, env: { ...env, ...o.env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
        if (code !== 0 && !o.allowFail) reject(new Error(`git ${args.join(' ')} failed (${code}):\n${stderr}`))
        else resolve({ code, stdout, stderr })
      })
    })
  if (opts.lfs) await git(['lfs', 'install', '--skip-repo'])
  return { home, env, git }
}

/**
 * A fresh folder for clones, removed when the test ends. Not t.testdir(): its path is fixed per
 * test name, so two runs of the suite at once (several people on one checkout) would share it.
 */
export function scratchDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-git-work-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** `http://user:<token>@host/<path>`: git and git-lfs both take credentials from the URL. */
export function tokenUrl(server: TestServer, repoPath: string, token = server.token): string {
  const u = new URL(`${server.url}/${repoPath}`)
  u.username = 'user'
  u.password = token
  return u.toString()
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')

/** Uploads `content` as an LFS object of `repo` through the batch API (basic transfer). */
export async function uploadLfs(server: TestServer, repoPath: string, content: Buffer): Promise<string> {
  const oid = sha256(content)
  const res = await authed(server, `/${repoPath}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid, size: content.length }] }),
  })
  if (res.status !== 200) throw new Error(`batch: ${res.status} ${await res.text()}`)
  const answer = (await res.json()) as { objects: { actions?: { upload?: { href: string } } }[] }
  const href = answer.objects[0]?.actions?.upload?.href
  if (href) {
    const put = await fetch(href, { method: 'PUT', body: new Uint8Array(content) })
    if (put.status !== 200) throw new Error(`upload: ${put.status} ${await put.text()}`)
  }
  return oid
}
