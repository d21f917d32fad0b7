import type { GitCli } from '../../storage/git/git-cli.js'
import { deleteSuperseded, PACK_GRACE_MS, repack, repackNeeded } from '../../storage/git/maintenance.js'
import type { RepoStore } from '../../storage/git/repo-store.js'

export interface MaintenanceOptions {
  /** Pack a repository after this many writes (API commits and pushes). */
  everyWrites: number
  /** Also pack every repository written since the last pass this often (ms); 0: never. */
  intervalMs: number
  /** How long packs a full pass superseded stay readable before deletion (ms). */
  packGraceMs?: number
}

interface Log {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

const SILENT: Log = { info() {}, error() {} }

/**
 * Keeps repositories fast to clone: API commits leave loose objects, which git would otherwise
 * deltify on every clone. Runs `git repack` (at most one run per repository at a time); the run
 * that folds every pack into one holds the repository's writer mutex and then drops its
 * isomorphic-git cache; the packs it superseded are deleted by a later pass once their grace period
 * is over (a timer schedules one). Without git it does nothing.
 */
export class MaintenanceService {
  private readonly writes = new Map<string, number>()
  private readonly running = new Map<string, Promise<void>>()
  private readonly again = new Set<string>()
  private timer: NodeJS.Timeout | null = null
  private readonly graceTimers = new Map<string, NodeJS.Timeout>()
  private closed = false
  log: Log = SILENT

  constructor(
    private readonly store: RepoStore,
    private readonly cli: GitCli | null,
    private readonly options: MaintenanceOptions,
  ) {
    store.onWrite((id) => this.noteWrite(id))
    if (cli && options.intervalMs > 0) {
      this.timer = setInterval(() => this.sweep(), options.intervalMs)
      this.timer.unref()
    }
  }

  private noteWrite(id: string): void {
    const n = (this.writes.get(id) ?? 0) + 1
    this.writes.set(id, n)
    if (n >= this.options.everyWrites) this.schedule(id)
  }

  /** Starts maintenance of every repository written since the last pass. */
  sweep(): void {
    for (const id of [...this.writes.keys()]) this.schedule(id)
  }

  /** Starts maintenance of one repository in the background (at most one run per repository). */
  schedule(id: string): void {
    if (!this.cli || this.closed) return
    this.writes.delete(id)
    if (this.running.has(id)) {
      this.again.add(id)
      return
    }
    const run = this.run(id).finally(() => {
      this.running.delete(id)
      if (this.again.delete(id)) this.schedule(id)
    })
    this.running.set(id, run)
  }

  /** Packs one repository now and waits for it; false without git. Errors are logged, not thrown. */
  async runNow(id: string): Promise<boolean> {
    if (!this.cli) return false
    this.writes.delete(id)
    await this.running.get(id)
    await this.run(id)
    return true
  }

  private async run(id: string): Promise<void> {
    const cli = this.cli!
    const gitdir = this.store.gitdir(id)
    const started = Date.now()
    const graceMs = this.options.packGraceMs ?? PACK_GRACE_MS
    try {
      await deleteSuperseded(gitdir, graceMs)
      const kind = await repackNeeded(gitdir)
      if (!kind) return
      if (kind === 'incremental') {
        // Deletes no pack: safe without the writer lock, so API commits are not held up.
        await repack(cli, gitdir, kind)
      } else {
        await this.store.exclusive(id, async () => {
          await repack(cli, gitdir, kind)
          this.store.invalidate(id)
        })
        this.afterGrace(id, graceMs)
      }
      this.log.info({ repoId: id, repack: kind, ms: Date.now() - started }, 'repository packed')
    } catch (err) {
      this.log.error({ err, repoId: id }, 'repository maintenance failed')
    }
  }

  /** Schedules the pass that deletes the packs just superseded (a restart leaves it to a later pass). */
  private afterGrace(id: string, graceMs: number): void {
    clearTimeout(this.graceTimers.get(id))
    const timer = setTimeout(() => {
      this.graceTimers.delete(id)
      this.schedule(id)
    }, graceMs + 1000)
    timer.unref()
    this.graceTimers.set(id, timer)
  }

  /** Waits for runs in progress (none start afterwards); stops the timers. */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    for (const timer of this.graceTimers.values()) clearTimeout(timer)
    this.graceTimers.clear()
    while (this.running.size > 0) await Promise.all(this.running.values())
  }
}
