import type { DiscussionRow, DiscussionsTable, EventRow } from '../../storage/db/discussions-table.js'
import type { RepoRow } from '../../storage/db/repos-table.js'
import type { GitCli } from '../../storage/git/git-cli.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { errors } from '../errors.js'
import { escapeHtml } from './pr-service.js'

/** Past this a PR's diff is cut (the Hub shows huge diffs truncated too). */
const MAX_DIFF_BYTES = 1024 * 1024

/**
 * What changes a discussion after it is opened, besides comments, status and merges: its title,
 * editing and hiding comments (py `rename_discussion`, `edit_discussion_comment`,
 * `hide_discussion_comment`), and a PR's diff (`get_discussion_details(...).diff`).
 */
export class DiscussionEdits {
  constructor(
    private readonly discussions: DiscussionsTable,
    private readonly store: RepoStore,
    private readonly git: GitCli | null,
  ) {}

  rename(repo: RepoRow, d: DiscussionRow, title: string, author: string): EventRow {
    return this.discussions.transaction(() => {
      this.discussions.setTitle(repo.id, d.num, title)
      return this.discussions.addEvent(repo.id, d.num, 'title-change', author, { from: d.title, to: title })
    })
  }

  /** Replaces a comment's text; whether `author` may (`comment.edit` in auth/access.ts) is asked before. */
  editComment(repo: RepoRow, d: DiscussionRow, eventId: string, content: string, author: string): EventRow {
    return this.discussions.transaction(() => {
      const { event, data } = this.parsed(repo, d, eventId)
      if (data.hidden) throw errors.badRequest('A hidden comment cannot be edited')
      const numEdits = typeof data.numEdits === 'number' ? data.numEdits + 1 : 1
      const latest = { raw: content, html: escapeHtml(content), updatedAt: new Date().toISOString(), author: { name: author } }
      return this.discussions.setEventData(repo.id, d.num, event, { ...data, edited: true, numEdits, latest })
    })
  }

  /** Irreversible, as on the Hub: the content is gone, only the fact that there was a comment remains. */
  hideComment(repo: RepoRow, d: DiscussionRow, eventId: string): EventRow {
    return this.discussions.transaction(() => {
      const { event, data } = this.parsed(repo, d, eventId)
      const latest = { raw: '', html: '', updatedAt: new Date().toISOString() }
      return this.discussions.setEventData(repo.id, d.num, event, { ...data, hidden: true, latest })
    })
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

  /** A comment of discussion `d` (EntryNotFound if there is none with that id). */
  comment(repo: RepoRow, d: DiscussionRow, eventId: string): EventRow {
    const event = /^[0-9a-f]{24}$/.test(eventId) ? this.discussions.event(repo.id, d.num, eventId) : undefined
    if (!event || event.type !== 'comment') throw errors.entryNotFound(undefined, `Comment ${eventId} not found in discussion #${d.num}`)
    return event
  }

  private parsed(repo: RepoRow, d: DiscussionRow, eventId: string): { event: EventRow; data: Record<string, unknown> } {
    const event = this.comment(repo, d, eventId)
    return { event, data: JSON.parse(event.data) as Record<string, unknown> }
  }
}
