import type { DiscussionRow, DiscussionsTable, EventRow, ListFilter } from '../../storage/db/discussions-table.js'
import type { RepoRow } from '../../storage/db/repos-table.js'
import type { GitRepo } from '../../storage/git/git-repo.js'
import { RefConflictError } from '../../storage/git/ref-cas.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { TreeEditor } from '../../storage/git/tree-edit.js'
import { errors } from '../errors.js'
import type { ContentService } from './content-service.js'
import { authorOf } from './identity.js'
import type { RepoIndexer } from './repo-indexer.js'

/**
 * Pull requests as on the Hub: `refs/pr/N` refs with a discussion row each (docs/hub-api.md §6.4, §8.6).
 * Merging fast-forwards when it can, else makes a merge commit; files changed on both sides
 * since the merge base are conflicts (409), never silently resolved.
 */
export class PrService {
  constructor(
    private readonly store: RepoStore,
    private readonly content: ContentService,
    private readonly discussions: DiscussionsTable,
    private readonly indexer: RepoIndexer,
    private readonly publicUrl: () => string,
  ) {}

  /**
   * Opens PR N with `refs/pr/N` at `target` (the PR's first commit, or the base head for an
   * `empty` PR, which gets no commit event). The ref is taken by compare-and-swap first and the row's primary key second, so two
   * writers (even in two processes) never share a number or a ref.
   */
  async open(
    repo: RepoRow,
    base: string,
    target: string,
    title: string,
    description: string,
    author: string,
    opts: { empty: boolean } = { empty: false },
  ): Promise<number> {
    const git = this.content.git(repo)
    return this.store.exclusive(`${repo.id}:discussions`, async () => {
      // A number whose ref exists (another writer's, or a crash's leftover) is skipped.
      for (let attempt = 0, num = this.discussions.peekNext(repo.id); attempt < 20; attempt++, num = Math.max(num + 1, this.discussions.peekNext(repo.id))) {
        const ref = `refs/pr/${num}`
        try {
          await git.setRef(ref, null, target)
        } catch (err) {
          if (err instanceof RefConflictError) continue
          throw err
        }
        if (!this.discussions.create({ repo_id: repo.id, num, title, is_pr: 1, status: 'open', author, target_branch: `refs/heads/${base}` })) {
          await git.deleteRef(ref, target)
          continue
        }
        if (description) this.discussions.addEvent(repo.id, num, 'comment', author, comment(description))
        if (!opts.empty) this.discussions.addEvent(repo.id, num, 'commit', author, { subject: title, oid: target })
        return num
      }
      throw errors.conflict('Could not allocate a pull request number; try again')
    })
  }

  /** A discussion without code (the discussions endpoint with `pullRequest: false`). */
  openDiscussion(repo: RepoRow, title: string, description: string, author: string): Promise<number> {
    return this.store.exclusive(`${repo.id}:discussions`, async () => {
      for (let attempt = 0, num = this.discussions.peekNext(repo.id); attempt < 20; attempt++, num = Math.max(num + 1, this.discussions.peekNext(repo.id))) {
        if (await this.content.git(repo).readRef(`refs/pr/${num}`)) continue
        if (!this.discussions.create({ repo_id: repo.id, num, title, is_pr: 0, status: 'open', author, target_branch: null })) continue
        if (description) this.discussions.addEvent(repo.id, num, 'comment', author, comment(description))
        return num
      }
      throw errors.conflict('Could not allocate a discussion number; try again')
    })
  }

  get(repo: RepoRow, num: number): DiscussionRow {
    const d = this.discussions.get(repo.id, num)
    if (!d) throw errors.entryNotFound(undefined, `Discussion #${num} not found`)
    return d
  }

  list(repo: RepoRow, filter: Omit<ListFilter, 'repo'>, limit: number, offset: number) {
    return this.discussions.list({ repo: repo.id, ...filter }, limit, offset)
  }

  comment(repo: RepoRow, num: number, text: string, author: string) {
    this.get(repo, num)
    return this.discussions.addEvent(repo.id, num, 'comment', author, comment(text))
  }

  setStatus(repo: RepoRow, num: number, status: 'open' | 'closed', author: string, text: string | null) {
    const d = this.get(repo, num)
    if (d.status === 'merged') throw errors.badRequest('A merged pull request cannot change status')
    if (text) this.comment(repo, num, text, author)
    this.discussions.setStatus(repo.id, num, status)
    return this.discussions.addEvent(repo.id, num, 'status-change', author, { status })
  }

  async merge(repo: RepoRow, num: number, author: string, text: string | null): Promise<string> {
    const d = this.get(repo, num)
    if (!d.is_pr) throw errors.badRequest(`#${num} is a discussion, not a pull request`)
    if (d.status !== 'open' && d.status !== 'draft') throw errors.badRequest(`Pull request #${num} is ${d.status}`)
    const git = this.content.git(repo)
    const targetRef = d.target_branch ?? `refs/heads/${repo.default_branch}`
    const merged = await this.store.exclusive(repo.id, async () => {
      const prHead = await git.readRef(`refs/pr/${num}`)
      const targetHead = await git.readRef(targetRef)
      if (!prHead || !targetHead) throw errors.revisionNotFound(prHead ? targetRef : `refs/pr/${num}`)
      const base = await this.mergeBase(repo, targetHead, prHead)
      let next: string
      if (base === prHead) next = targetHead // nothing to bring in
      else if (base === targetHead) next = prHead // fast-forward
      else {
        const tree = await this.mergeTrees(repo, git, base, targetHead, prHead, num)
        next = await git.writeCommit({
          tree,
          parents: [targetHead, prHead],
          message: `Merge refs/pr/${num} into ${targetRef.replace('refs/heads/', '')}\n\n${d.title}`,
          author: authorOf(author, this.publicUrl()),
        })
      }
      if (next !== targetHead) {
        try {
          await git.setRef(targetRef, targetHead, next)
        } catch (err) {
          if (err instanceof RefConflictError) throw errors.conflict('The target branch moved during the merge; try again')
          throw err
        }
      }
      return next
    })
    if (text) this.comment(repo, num, text, author)
    this.discussions.setStatus(repo.id, num, 'merged', merged)
    this.discussions.addEvent(repo.id, num, 'status-change', author, { status: 'merged' })
    if (targetRef === `refs/heads/${repo.default_branch}`) await this.indexer.refresh(repo)
    return merged
  }

  /** The nearest common ancestor (breadth-first over all parents), or null for unrelated histories. */
  private async mergeBase(repo: RepoRow, a: string, b: string): Promise<string | null> {
    const seen = new Set<string>()
    for (let frontier = [b]; frontier.length; ) {
      const next: string[] = []
      for (const oid of frontier) {
        if (seen.has(oid)) continue
        seen.add(oid)
        next.push(...(await this.content.commit(repo, oid)).parents)
      }
      frontier = next
    }
    const visited = new Set<string>()
    for (let frontier = [a]; frontier.length; ) {
      const next: string[] = []
      for (const oid of frontier) {
        if (seen.has(oid)) return oid
        if (visited.has(oid)) continue
        visited.add(oid)
        next.push(...(await this.content.commit(repo, oid)).parents)
      }
      frontier = next
    }
    return null
  }

  /** Three-way merge by path; a path changed differently on both sides is a conflict (409). */
  private async mergeTrees(repo: RepoRow, git: GitRepo, base: string | null, ours: string, theirs: string, num: number): Promise<string> {
    const files = async (commit: string | null) =>
      new Map(commit ? (await this.content.files(repo, commit)).map((f) => [f.path, f.oid] as const) : [])
    const [b, o, t] = await Promise.all([files(base), files(ours), files(theirs)])
    const editor = new TreeEditor(git, (await git.readCommit(ours)).tree)
    const conflicts: string[] = []
    for (const path of new Set([...o.keys(), ...t.keys(), ...b.keys()])) {
      const [bo, oo, to] = [b.get(path), o.get(path), t.get(path)]
      if (oo === to || to === bo) continue // same on both sides, or only we changed it
      if (oo !== bo) {
        conflicts.push(path)
        continue
      }
      await editor.apply(to === undefined ? { kind: 'delete', path, mustExist: false } : { kind: 'put', path, oid: to })
    }
    if (conflicts.length) {
      throw errors.conflict(`Pull request #${num} has conflicts in: ${conflicts.slice(0, 20).join(', ')}`, { filesWithConflicts: conflicts })
    }
    return editor.write()
  }

  /** The Hub's discussion object (py `get_discussion_details` reads these keys). */
  details(repo: RepoRow, d: DiscussionRow) {
    return {
      ...this.summary(repo, d),
      events: this.discussions.events(repo.id, d.num).map(eventJson),
      ...(d.is_pr
        ? { changes: { base: d.target_branch, ...(d.merge_commit ? { mergeCommitId: d.merge_commit } : {}) }, filesWithConflicts: [] }
        : {}),
    }
  }

  summary(repo: RepoRow, d: DiscussionRow) {
    return {
      num: d.num,
      title: d.title,
      status: d.status,
      createdAt: d.created_at,
      isPullRequest: d.is_pr === 1,
      author: { name: d.author },
      repo: { name: `${repo.namespace}/${repo.name}`, type: repo.type },
      pinned: false,
      numComments: 0,
    }
  }
}

/** A discussion event as the Hub sends it (py `deserialize_event`). */
export function eventJson(e: EventRow) {
  return { id: e.id, type: e.type, createdAt: e.created_at, author: { name: e.author }, data: JSON.parse(e.data) as unknown }
}

function comment(text: string) {
  return { edited: false, hidden: false, latest: { raw: text, html: escapeHtml(text), updatedAt: new Date().toISOString() }, numEdits: 0 }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
