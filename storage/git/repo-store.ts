import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { GitRepo } from './git-repo.js'
import { KeyedMutex } from './mutex.js'
import { sweepQuarantines } from './quarantine.js'
import { sweepRefLocks } from './ref-cas.js'

/**
 * Where bare repositories live: `<root>/<id[0:2]>/<id>.git`, keyed by the repo's immutable id so a
 * rename never moves files. Hands out one GitRepo (and so one object cache) per repository.
 */
export class RepoStore {
  private readonly open_ = new Map<string, GitRepo>()
  private readonly mutex = new KeyedMutex()
  private readonly writeListeners: ((id: string) => void)[] = []
  private readonly refListeners: ((id: string) => void)[] = []

  constructor(private readonly root: string) {
    fs.mkdirSync(path.join(root, '.trash'), { recursive: true })
    fs.mkdirSync(path.join(root, '.creating'), { recursive: true })
  }

  gitdir(id: string): string {
    return path.join(this.root, id.slice(0, 2), `${id}.git`)
  }

  open(id: string): GitRepo {
    let repo = this.open_.get(id)
    if (!repo) {
      // @NOTE: bounded so a server with many repos does not keep every object cache alive.
      if (this.open_.size >= 256) this.open_.delete(this.open_.keys().next().value!)
      repo = new GitRepo(this.gitdir(id), () => this.notifyRefsMoved(id))
      this.open_.set(id, repo)
    }
    return repo
  }

  /**
   * Drops the repository's GitRepo and with it isomorphic-git's pack cache: needed once packs it
   * may have indexed are deleted (maintenance), or a later read would look for a vanished file.
   */
  invalidate(id: string): void {
    this.open_.delete(id)
  }

  /** Subscribes to `wrote` (maintenance counts writes per repository). */
  onWrite(listener: (id: string) => void): void {
    this.writeListeners.push(listener)
  }

  /**
   * Subscribes to ref changes: every change made through GitRepo.setRef/deleteRef, and pushes
   * (`refsMoved`). The context bumps the repo's `refs_epoch` row, which other processes see.
   */
  onRefsMoved(listener: (id: string) => void): void {
    this.refListeners.push(listener)
  }

  /** Refs moved without GitRepo.setRef/deleteRef (git receive-pack): tells the subscribers of `onRefsMoved`. */
  refsMoved(id: string): void {
    const repo = this.open_.get(id)
    if (repo) repo.refsMoved() // drops its shared view, then notifies
    else this.notifyRefsMoved(id)
  }

  private notifyRefsMoved(id: string): void {
    for (const listener of this.refListeners) listener(id)
  }

  /** Tells subscribers of `onWrite` that the repository was written (an API commit or a push). */
  wrote(id: string): void {
    for (const listener of this.writeListeners) listener(id)
  }

  /** Serialises writers of one repository within this process. */
  exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(id, fn)
  }

  /**
   * Builds a new repository in a scratch folder with `populate`, then renames it into place, so a
   * crash never leaves a half-initialised repository at the real path.
   */
  async create(id: string, defaultBranch: string, populate: (repo: GitRepo) => Promise<void>): Promise<void> {
    const scratch = path.join(this.root, '.creating', `${id}.git`)
    try {
      await populate(await GitRepo.init(scratch, defaultBranch))
      await fsp.mkdir(path.dirname(this.gitdir(id)), { recursive: true })
      await fsp.rename(scratch, this.gitdir(id))
    } catch (err) {
      await fsp.rm(scratch, { recursive: true, force: true })
      throw err
    }
  }

  /** Moves the repository out of the way at once, then deletes it. */
  async remove(id: string): Promise<void> {
    this.open_.delete(id)
    const trash = path.join(this.root, '.trash', `${id}-${Date.now()}`)
    try {
      await fsp.rename(this.gitdir(id), trash)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    await fsp.rm(trash, { recursive: true, force: true })
  }

  /** Leftovers of crashed writes, creations and deletions. Each is only cleared once clearly dead. */
  async sweep(): Promise<void> {
    await fsp.rm(path.join(this.root, '.trash'), { recursive: true, force: true })
    await fsp.mkdir(path.join(this.root, '.trash'), { recursive: true })
    const creating = path.join(this.root, '.creating')
    for (const name of await fsp.readdir(creating)) {
      const st = await fsp.stat(path.join(creating, name)).catch(() => null)
      if (st && Date.now() - st.mtimeMs > 60_000) await fsp.rm(path.join(creating, name), { recursive: true, force: true })
    }
    // Ref locks of a writer killed mid-update would block that ref, and the quarantined objects
    // of a killed or failed commit or push would stay for good; live ones are left alone.
    for (const shard of await fsp.readdir(this.root)) {
      if (shard.startsWith('.')) continue
      const dir = path.join(this.root, shard)
      for (const repo of await fsp.readdir(dir).catch(() => [] as string[])) {
        if (!repo.endsWith('.git')) continue
        await sweepRefLocks(path.join(dir, repo))
        await sweepQuarantines(path.join(dir, repo))
      }
    }
  }
}
