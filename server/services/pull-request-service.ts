import type { RepoRow } from '../../storage/db/repos-table.js'
import type { DiscussionRow, DiscussionsTable } from '../../storage/db/discussions-table.js'
import type { GitCli } from '../../storage/git/git-cli.js'
import type { GitRepo } from '../../storage/git/git-repo.js'
import { RefConflictError } from '../../storage/git/ref-cas.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { TreeEditor } from '../../storage/git/tree-edit.js'
import { errors } from '../errors.js'
import { commentData } from '../protocol/discussion-json.js'
import { authorOf } from '../protocol/identity.js'
import type { ContentService } from './content-service.js'
import type { DiscussionService } from './discussion-service.js'
import type { RepoIndexer } from './repo-indexer.js'

/** Past this a PR's diff is cut (the Hub shows huge diffs truncated too). */
const MAX_DIFF_BYTES = 1024 * 1024

/**
 * Pull requests as on the Hub: `refs/pr/N` refs with a discussion row each (docs/hub-api.md §6.4, §8.6).
 * Merging fast-forwards when it can, else makes a merge commit; files changed on both sides
 * since the merge base are conflicts (409), never silently resolved. What a PR shares with every
 * discussion (comments, status, title, its JSON) is DiscussionService's.
 */
export class PullRequestService {
  constructor(
    private readonly store: RepoStore,
    private readonly content: ContentService,
    private readonly discussionService: DiscussionService,
    private readonly discussions: DiscussionsTable,
    private readonly indexer: RepoIndexer,
    private readonly publicUrl: () => string,
    private readonly git: GitCli | null,
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
        if (description) this.discussions.addEvent(repo.id, num, 'comment', author, commentData(description))
        if (!opts.empty) this.discussions.addEvent(repo.id, num, 'commit', author, { subject: title, oid: target })
        return num
      }
      throw errors.conflict('Could not allocate a pull request number; try again')
    })
  }

  async merge(repo: RepoRow, num: number, author: string, text: string | null): Promise<string> {
    const d = this.discussionService.get(repo, num)
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
    if (text) this.discussionService.comment(repo, num, text, author)
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

  /**
   * The PR's changes as `git diff base...pr` (from their merge base), as text; null when there is
   * no git binary. LFS files show as pointer changes, as on the Hub.
   */
  async diff(repo: RepoRow, d: DiscussionRow, targetRef: string): Promise<string | null> {
    if (!d.is_pr || !this.git) return null
    const out = await this.git.run(
      ['--git-dir', this.store.gitdir(repo.id), 'diff', '--no-color', '--no-ext-diff', '--no-textconv', `${targetRef}...refs/pr/${d.num}`, '--'],
      { maxOutput: MAX_DIFF_BYTES },
    )
    return out.toString('utf8')
  }
}
