import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import type { ReposTable, RepoRow } from '../../storage/db/repos-table.js'
import type { GitCli } from '../../storage/git/git-cli.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { errors } from '../errors.js'
import { parseRefUpdates, servicePreamble, wantsV2 } from '../protocol/pkt-line.js'
import type { PushCheck } from './push-check.js'

export type GitService = 'git-upload-pack' | 'git-receive-pack'

/** One receive-pack in progress, known to its pre-receive hook by a one-time token. */
interface PushSession {
  repo: RepoRow
  gitdir: string
  /** The hook ran and accepted the push (refs may have moved). */
  approved: boolean
  used: boolean
}

interface Log {
  warn(obj: object, msg: string): void
}

/** Counts concurrent git processes; waiters queue in order. */
class Semaphore {
  private readonly waiters: (() => void)[] = []
  constructor(private free: number) {}

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--
    else await new Promise<void>((resolve) => this.waiters.push(resolve))
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiters.shift()
      if (next) next()
      else this.free++
    }
  }
}

const NO_CACHE = {
  'Cache-Control': 'no-cache, max-age=0, must-revalidate',
  Pragma: 'no-cache',
  Expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
}

/**
 * Smart HTTP (docs/git-over-http.md §4) by spawning `git upload-pack` / `git receive-pack`
 * in stateless-RPC mode. Routes decide access first; this runs the processes, streams bodies both
 * ways with backpressure, and talks to the pre-receive hook that checks a push before refs move.
 */
export class GitHttpService {
  private readonly sessions = new Map<string, PushSession>()
  private readonly v2Capabilities = new Map<string, Buffer>()
  private readonly permits: Semaphore
  /** Why pushes cannot be served safely (the hook is missing or not executable), or null. */
  readonly pushProblem: string | null
  /** `node` forces the hook's Node client even where curl exists (tests cover both paths). */
  hookClient: 'auto' | 'node' = 'auto'
  log: Log = { warn() {} }

  constructor(
    readonly cli: GitCli | null,
    private readonly store: RepoStore,
    private readonly repos: ReposTable,
    private readonly check: PushCheck | null,
    private readonly options: {
      maxProcesses: number
      hooksDir: string
      gitBinary: string
      /** Runs after a push moved refs, before its response ends (e.g. re-indexing). */
      afterPush?: (repo: RepoRow) => Promise<unknown>
    },
  ) {
    this.permits = new Semaphore(options.maxProcesses)
    this.pushProblem = hookProblem(options.hooksDir)
  }

  /** Throws 503 unless git (and for pushes, the hook) is usable. */
  requireAvailable(service: GitService): GitCli {
    if (!this.cli) {
      throw errors.unavailable(
        `git over HTTP needs the git binary on the server ("${this.options.gitBinary}" was not found at start); the HTTP API and LFS work without it`,
      )
    }
    if (service === 'git-receive-pack' && this.pushProblem) throw errors.unavailable(`pushes are disabled: ${this.pushProblem}`)
    return this.cli
  }

  private args(service: GitService, gitdir: string, advertise: boolean): string[] {
    const config = [
      `core.hooksPath=${this.options.hooksDir}`,
      // Maintenance runs from our own serialised job, never inside a push.
      'receive.autogc=false',
      'receive.fsckObjects=true',
      'uploadpack.allowFilter=true',
      // Repositories in a volume may belong to another uid than the server (Docker).
      'safe.directory=*',
    ].flatMap((c) => ['-c', c])
    const command = service === 'git-upload-pack' ? ['upload-pack', '--strict'] : ['receive-pack']
    return [...config, ...command, '--stateless-rpc', ...(advertise ? ['--advertise-refs'] : []), gitdir]
  }

  /** The `info/refs` body: the ref advertisement, after the `# service=` preamble unless v2. */
  async advertise(repo: RepoRow, service: GitService, protocol: string | null): Promise<Buffer> {
    const cli = this.requireAvailable(service)
    const v2 = service === 'git-upload-pack' && wantsV2(protocol)
    // A v2 advertisement lists capabilities only (no refs): the same for every repository, given
    // our fixed config and SHA-1 objects (all isomorphic-git writes), so one git process per clone
    // or fetch is saved.
    const cached = v2 ? this.v2Capabilities.get(protocol!) : undefined
    if (cached) return cached
    const release = await this.permits.acquire()
    try {
      // Push has no v2: receive-pack always gets the v0 exchange (git clients never ask otherwise).
      const env: Record<string, string> = service === 'git-upload-pack' && protocol ? { GIT_PROTOCOL: protocol } : {}
      const refs = await cli.run(this.args(service, this.store.gitdir(repo.id), true), { env })
      if (!v2) return Buffer.concat([servicePreamble(service), refs])
      if (this.v2Capabilities.size < 16) this.v2Capabilities.set(protocol!, refs)
      return refs
    } finally {
      release()
    }
  }

  /**
   * Serves one POST: request body (gunzipped if needed) → git's stdin, git's stdout → response.
   * `hookBase` is a URL of this server reachable from the machine (for the pre-receive hook).
   * Resolves once the response has ended.
   */
  async serve(
    repo: RepoRow,
    service: GitService,
    protocol: string | null,
    req: IncomingMessage,
    res: ServerResponse,
    hookBase: string,
  ): Promise<void> {
    const cli = this.requireAvailable(service)
    const gitdir = this.store.gitdir(repo.id)
    const env: Record<string, string> = {}
    let token: string | null = null
    if (service === 'git-upload-pack') {
      if (protocol) env.GIT_PROTOCOL = protocol
    } else {
      token = randomBytes(24).toString('hex')
      this.sessions.set(token, { repo, gitdir, approved: false, used: false })
      Object.assign(env, {
        HUBD_HOOK_URL: `${hookBase}/api/_internal/git-hooks`,
        HUBD_HOOK_TOKEN: token,
        HUBD_HOOK_CLIENT: this.hookClient,
        HUBD_NODE: process.execPath,
      })
    }
    const release = await this.permits.acquire()
    const child = cli.spawn(this.args(service, gitdir, false), env)
    const headers = { 'Content-Type': `application/x-${service}-result`, ...NO_CACHE }
    let stderr = ''
    child.stderr!.on('data', (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString('utf8')
    })
    child.stdout!.once('data', (first: Buffer) => {
      res.writeHead(200, headers)
      res.write(first)
      child.stdout!.pipe(res, { end: false })
    })
    let finished = false
    // A clone nobody waits for is stopped; a push whose body has arrived is left to finish (it
    // may be moving refs), and one cut short ends by itself when its stdin closes.
    res.on('close', () => {
      if (!finished && service === 'git-upload-pack') child.kill('SIGTERM')
    })
    const gzip = /\bgzip\b/i.test(String(req.headers['content-encoding'] ?? ''))
    const body = gzip ? pipeline(req, createGunzip(), child.stdin!) : pipeline(req, child.stdin!)
    body.catch(() => child.stdin!.destroy())

    await new Promise<void>((resolve) => {
      const done = async (code: number | null, signal: NodeJS.Signals | null) => {
        if (finished) return
        finished = true
        release()
        const session = token ? this.sessions.get(token) : undefined
        if (token) this.sessions.delete(token)
        if (session?.approved) {
          // Before the response ends, so a client that saw its push succeed sees it everywhere.
          this.repos.touch(repo.id)
          this.store.refsMoved(repo.id)
          this.store.wrote(repo.id)
          await this.options.afterPush?.(repo).catch((err: unknown) => this.log.warn({ err, repoId: repo.id }, 'after-push work failed'))
        }
        if (code !== 0 && !res.destroyed) {
          this.log.warn({ service, repoId: repo.id, code, signal, stderr: stderr.trim() }, 'git process failed')
        }
        if (!res.headersSent) {
          if (code === 0) res.writeHead(200, headers)
          else res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
          if (code !== 0) res.write(`git ${service.slice(4)} failed\n`)
        }
        res.end()
        resolve()
      }
      child.once('close', (code, signal) => void done(code, signal))
      child.once('error', (err) => {
        stderr += String(err)
        void done(null, null)
      })
    })
  }

  /**
   * The pre-receive hook's call: `body` is the quarantine path on the first line, then git's
   * `<old> <new> <ref>` lines. Returns the reasons to refuse the push (empty: accept).
   */
  async preReceive(token: string, body: string): Promise<string[]> {
    const session = this.sessions.get(token)
    if (!session || session.used || !this.check) throw errors.forbidden('Unknown or already used hook token')
    session.used = true
    const nl = body.indexOf('\n')
    const quarantine = nl < 0 ? body : body.slice(0, nl)
    let updates
    try {
      updates = parseRefUpdates(nl < 0 ? '' : body.slice(nl + 1))
    } catch (err) {
      throw errors.badRequest((err as Error).message)
    }
    const env = quarantine ? await quarantineEnv(session.gitdir, quarantine) : {}
    const problems = await this.check.problems(session.repo, session.gitdir, updates, env)
    session.approved = problems.length === 0
    return problems
  }
}

/**
 * The environment under which git sees a push's quarantined objects. The path comes from the hook,
 * so it must be a quarantine directory of this very repository.
 */
async function quarantineEnv(gitdir: string, given: string): Promise<Record<string, string>> {
  const objects = await fs.promises.realpath(path.join(gitdir, 'objects'))
  const q = await fs.promises.realpath(path.resolve(gitdir, given)).catch(() => null)
  if (!q || path.dirname(q) !== objects || !/^tmp_objdir-incoming-[A-Za-z0-9_]+$/.test(path.basename(q))) {
    throw errors.badRequest('The quarantine path is not one of this repository')
  }
  return { GIT_OBJECT_DIRECTORY: q, GIT_ALTERNATE_OBJECT_DIRECTORIES: objects, GIT_QUARANTINE_PATH: q }
}

/** Why the hook cannot run, or null. Without it git would silently skip the push checks. */
function hookProblem(hooksDir: string): string | null {
  const hook = path.join(hooksDir, 'pre-receive')
  try {
    fs.accessSync(hook, fs.constants.X_OK)
    return null
  } catch {
    try {
      fs.chmodSync(hook, 0o755)
      fs.accessSync(hook, fs.constants.X_OK)
      return null
    } catch {
      return `the hook ${hook} is missing or not executable`
    }
  }
}
