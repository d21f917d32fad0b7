import type { RepoRow } from '../../storage/db/repos-table.js'
import type { CommitInfo } from '../../storage/git/git-repo.js'
import type { ContentService } from './content-service.js'
import { Lru } from '../cache/lru.js'

/**
 * Commit history along first parents, newest first (docs/hub-api.md §8.4). The length of the chain below a
 * commit never changes, so it is memoised per commit: `X-Total-Count` costs one walk per new
 * commit, not one per request.
 */
export class HistoryService {
  private readonly depth = new Lru<string, number>(200_000)
  private readonly counting = new Map<string, Promise<number>>()

  constructor(private readonly content: ContentService) {}

  /**
   * Number of commits on the first-parent chain ending at `commit` (itself included).
   * @NOTE: concurrent asks for the same commit share one walk: after a start, clients arriving
   * together each walked the whole history (1,000 commits: ~1 s each under load).
   */
  count(repo: RepoRow, commit: string): Promise<number> {
    const known = this.depth.get(`${repo.id}:${commit}`)
    if (known !== undefined) return Promise.resolve(known)
    const key = `${repo.id}:${commit}`
    let walk = this.counting.get(key)
    if (!walk) {
      walk = this.walk(repo, commit).finally(() => this.counting.delete(key))
      this.counting.set(key, walk)
    }
    return walk
  }

  private async walk(repo: RepoRow, commit: string): Promise<number> {
    const key = (oid: string) => `${repo.id}:${oid}`
    const chain: string[] = []
    let oid: string | undefined = commit
    let base = 0
    while (oid) {
      const known = this.depth.get(key(oid))
      if (known !== undefined) {
        base = known
        break
      }
      chain.push(oid)
      oid = (await this.content.commit(repo, oid)).parents[0]
    }
    for (let i = chain.length - 1; i >= 0; i--) this.depth.set(key(chain[i]!), base + (chain.length - i))
    return base + chain.length
  }

  /** `limit` commits starting `offset` steps below `commit`. */
  async page(repo: RepoRow, commit: string, offset: number, limit: number): Promise<CommitInfo[]> {
    let oid: string | undefined = commit
    for (let i = 0; i < offset && oid; i++) oid = (await this.content.commit(repo, oid)).parents[0]
    const out: CommitInfo[] = []
    while (oid && out.length < limit) {
      const c = await this.content.commit(repo, oid)
      out.push(c)
      oid = c.parents[0]
    }
    return out
  }
}
