import { execFile, spawn, type ChildProcess } from 'node:child_process'

/** A git command exited with a non-zero status. */
export class GitCommandError extends Error {
  override name = 'GitCommandError'
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.slice(0, 3).join(' ')} failed (${exitCode ?? 'killed'}): ${stderr.trim().slice(0, 500)}`)
  }
}

export interface GitRunOptions {
  /** Extra environment (e.g. the quarantine of a push in progress). */
  env?: Record<string, string>
  /** Bytes written to the command's stdin. */
  input?: string | Buffer
  /** Stop reading (and kill the command) past this many bytes of output; the result is cut there. */
  maxOutput?: number
}

/**
 * The `git` binary, for what isomorphic-git cannot do well: the smart-HTTP services, packing and
 * the push checks. Every command runs with a private HOME and no system or global config, so the
 * machine's git setup (aliases, hooks, URL rewrites) never leaks in.
 */
export class GitCli {
  private readonly baseEnv: Record<string, string>

  private constructor(
    readonly binary: string,
    /** `git version 2.39.5`. */
    readonly version: string,
    searchPath: string,
    home: string,
  ) {
    this.baseEnv = { PATH: searchPath, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' }
  }

  /** Runs `<binary> --version` once; null when there is no usable git (the git endpoints then answer 503). */
  static async detect(binary: string, searchPath: string, home: string): Promise<GitCli | null> {
    const version = await new Promise<string | null>((resolve) => {
      execFile(binary, ['--version'], { env: { PATH: searchPath }, timeout: 10_000 }, (err, stdout) =>
        resolve(err ? null : stdout.trim()),
      )
    })
    return version && version.startsWith('git version') ? new GitCli(binary, version, searchPath, home) : null
  }

  /** The environment a git process starts with, plus `extra`. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return { ...this.baseEnv, ...extra }
  }

  /** Starts `git <args>` with piped stdio; the caller owns the process. */
  spawn(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
    return spawn(this.binary, args, { env: this.env(env), stdio: ['pipe', 'pipe', 'pipe'] })
  }

  /** Runs `git <args>` to completion and returns its stdout; throws GitCommandError on failure. */
  run(args: readonly string[], options: GitRunOptions = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(args, options.env)
      const out: Buffer[] = []
      let size = 0
      let cut = false
      let err = ''
      child.stdout!.on('data', (c: Buffer) => {
        if (cut) return
        out.push(c)
        size += c.length
        if (options.maxOutput !== undefined && size > options.maxOutput) {
          cut = true
          child.kill()
        }
      })
      child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')))
      child.on('error', reject)
      child.on('close', (code) => {
        if (cut) resolve(Buffer.concat(out).subarray(0, options.maxOutput))
        else if (code === 0) resolve(Buffer.concat(out))
        else reject(new GitCommandError(args, code, err))
      })
      // A command that does not read its stdin closes it early: that is not an error.
      child.stdin!.on('error', () => {})
      child.stdin!.end(options.input ?? '')
    })
  }
}
