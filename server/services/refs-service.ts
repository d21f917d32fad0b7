import type { RepoRow } from '../../storage/db/repos-table.js'
import type { GitRepo } from '../../storage/git/git-repo.js'
import { RefConflictError } from '../../storage/git/ref-cas.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { errors, HubError } from '../errors.js'
import { refChangeProblem, type RefChange } from '../protocol/ref-rules.js'
import type { ContentService } from './content-service.js'
import { authorOf } from '../protocol/identity.js'
import type { RepoIndexer } from './repo-indexer.js'

export interface RefEntry {
  name: string
  ref: string
  targetCommit: string
}

/**
 * Branches, tags and pull-request refs (docs/hub-api.md §8.1–8.5). Every move goes through the ref
 * compare-and-swap; a change to the default branch re-indexes the repo.
 */
export class RefsService {
  constructor(
    private readonly store: RepoStore,
    private readonly content: ContentService,
    private readonly indexer: RepoIndexer,
    private readonly publicUrl: () => string,
  ) {}

  private async entries(git: GitRepo, prefix: string): Promise<RefEntry[]> {
    const out: RefEntry[] = []
    for (const r of await git.listRefs(prefix)) {
      const commit = await git.peelToCommit(r.oid)
      if (commit) out.push({ name: r.name, ref: r.ref, targetCommit: commit })
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** The refs listing: the default branch first, then by name. */
  async list(repo: RepoRow, includePrs: boolean) {
    const git = this.content.git(repo)
    const branches = await this.entries(git, 'refs/heads')
    const main = branches.findIndex((b) => b.name === repo.default_branch)
    if (main > 0) branches.unshift(...branches.splice(main, 1))
    const result: Record<string, RefEntry[]> = {
      branches,
      converts: await this.entries(git, 'refs/convert'),
      tags: await this.entries(git, 'refs/tags'),
    }
    if (includePrs) {
      result.pullRequests = (await this.entries(git, 'refs/pr')).sort((a, b) => Number(a.name) - Number(b.name))
    }
    return result
  }

  async createBranch(
    repo: RepoRow,
    name: string,
    opts: { startingPoint: string | null; overwrite: boolean; emptyBranch: boolean; user: string },
  ): Promise<void> {
    const ref = `refs/heads/${name}`
    // The name first, before anything is written; `next` stands for the target not yet resolved.
    this.keepRules(repo, { ref, old: null, next: opts.startingPoint ?? repo.default_branch })
    const git = this.content.git(repo)
    let target: string
    if (opts.emptyBranch) {
      target = await git.writeCommit({
        tree: await git.writeTree([]),
        parents: [],
        message: `Create empty branch ${name}`,
        author: authorOf(opts.user, this.publicUrl()),
      })
    } else {
      target = (await this.content.resolve(repo, opts.startingPoint ?? repo.default_branch)).commit
    }
    await this.store.exclusive(repo.id, async () => {
      const current = await git.readRef(ref)
      if (current && !opts.overwrite) throw errors.conflict(`Reference ${ref} already exists`)
      await this.cas(git, ref, current, target)
    })
    if (name === repo.default_branch) await this.indexer.refresh(repo)
  }

  async deleteBranch(repo: RepoRow, name: string): Promise<void> {
    const ref = name.startsWith('refs/heads/') ? name : `refs/heads/${name}`
    this.keepRules(repo, { ref, old: null, next: null })
    await this.deleteRef(repo, ref, name)
  }

  async createTag(repo: RepoRow, rev: string, tag: string, message: string | null, user: string): Promise<void> {
    const ref = `refs/tags/${tag}`
    this.keepRules(repo, { ref, old: null, next: rev })
    const git = this.content.git(repo)
    const { commit } = await this.content.resolve(repo, rev)
    // Annotated when there is a message, like `git tag -a`.
    const target = message
      ? await git.writeTag({ object: commit, name: tag, message, tagger: authorOf(user, this.publicUrl()) })
      : commit
    await this.store.exclusive(repo.id, async () => {
      // Tags are immutable: an existing one is never moved (the rule a push keeps too).
      this.keepRules(repo, { ref, old: await git.readRef(ref), next: target })
      await this.cas(git, ref, null, target)
    })
  }

  async deleteTag(repo: RepoRow, tag: string): Promise<void> {
    await this.deleteRef(repo, tag.startsWith('refs/tags/') ? tag : `refs/tags/${tag}`, tag)
  }

  /** Replaces the branch with one parentless commit holding the same tree (docs/hub-api.md §8.5). */
  async superSquash(repo: RepoRow, branch: string, message: string, user: string): Promise<string> {
    const ref = /^refs\/(heads|pr|convert)\//.test(branch) ? branch : `refs/heads/${branch}`
    const git = this.content.git(repo)
    const oid = await this.store.exclusive(repo.id, async () => {
      const head = await git.readRef(ref)
      if (!head) throw errors.revisionNotFound(branch)
      const { tree } = await git.readCommit(head)
      const squashed = await git.writeCommit({ tree, parents: [], message, author: authorOf(user, this.publicUrl()) })
      await this.cas(git, ref, head, squashed)
      return squashed
    })
    if (ref === `refs/heads/${repo.default_branch}`) await this.indexer.refresh(repo)
    return oid
  }

  private async deleteRef(repo: RepoRow, ref: string, asGiven: string): Promise<void> {
    const git = this.content.git(repo)
    await this.store.exclusive(repo.id, async () => {
      const current = await git.readRef(ref)
      if (!current) throw errors.revisionNotFound(asGiven)
      try {
        await git.deleteRef(ref, current)
      } catch (err) {
        if (err instanceof RefConflictError) throw errors.conflict(`${ref} was updated concurrently; try again`)
        throw err
      }
    })
  }

  /** The rules git pushes keep too (protocol/ref-rules.ts), as the API's error. */
  private keepRules(repo: RepoRow, change: RefChange): void {
    const broken = refChangeProblem(change, repo.default_branch)
    if (broken) throw new HubError(broken.status, broken.message)
  }

  private async cas(git: GitRepo, ref: string, expected: string | null, next: string): Promise<void> {
    try {
      await git.setRef(ref, expected, next)
    } catch (err) {
      if (err instanceof RefConflictError) throw errors.conflict(`${ref} was updated concurrently; try again`)
      throw err
    }
  }
}
