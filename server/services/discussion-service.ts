import type { DiscussionRow, DiscussionsTable, EventRow, ListFilter } from '../../storage/db/discussions-table.js'
import type { RepoRow } from '../../storage/db/repos-table.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { errors } from '../errors.js'
import { commentData, eventJson } from '../protocol/discussion-json.js'
import { escapeHtml } from '../protocol/html.js'
import type { ContentService } from './content-service.js'

/**
 * What every discussion has, pull request or not (docs/hub-api.md §8.6): opening one without code,
 * reading and listing them, comments, status, its title, editing and hiding comments (py
 * `rename_discussion`, `edit_discussion_comment`, `hide_discussion_comment`), and the Hub's JSON of
 * it. What only a PR has (its ref, merging, its diff) is PullRequestService's.
 */
export class DiscussionService {
  constructor(
    private readonly discussions: DiscussionsTable,
    private readonly store: RepoStore,
    private readonly content: ContentService,
  ) {}

  /** A discussion without code (the discussions endpoint with `pullRequest: false`). */
  open(repo: RepoRow, title: string, description: string, author: string): Promise<number> {
    return this.store.exclusive(`${repo.id}:discussions`, async () => {
      for (let attempt = 0, num = this.discussions.peekNext(repo.id); attempt < 20; attempt++, num = Math.max(num + 1, this.discussions.peekNext(repo.id))) {
        if (await this.content.git(repo).readRef(`refs/pr/${num}`)) continue
        if (!this.discussions.create({ repo_id: repo.id, num, title, is_pr: 0, status: 'open', author, target_branch: null })) continue
        if (description) this.discussions.addEvent(repo.id, num, 'comment', author, commentData(description))
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
    return this.discussions.addEvent(repo.id, num, 'comment', author, commentData(text))
  }

  setStatus(repo: RepoRow, num: number, status: 'open' | 'closed', author: string, text: string | null) {
    const d = this.get(repo, num)
    if (d.status === 'merged') throw errors.badRequest('A merged pull request cannot change status')
    if (text) this.comment(repo, num, text, author)
    this.discussions.setStatus(repo.id, num, status)
    return this.discussions.addEvent(repo.id, num, 'status-change', author, { status })
  }

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

  /** A comment of discussion `d` (EntryNotFound if there is none with that id). */
  findComment(repo: RepoRow, d: DiscussionRow, eventId: string): EventRow {
    const event = /^[0-9a-f]{24}$/.test(eventId) ? this.discussions.event(repo.id, d.num, eventId) : undefined
    if (!event || event.type !== 'comment') throw errors.entryNotFound(undefined, `Comment ${eventId} not found in discussion #${d.num}`)
    return event
  }

  private parsed(repo: RepoRow, d: DiscussionRow, eventId: string): { event: EventRow; data: Record<string, unknown> } {
    const event = this.findComment(repo, d, eventId)
    return { event, data: JSON.parse(event.data) as Record<string, unknown> }
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
