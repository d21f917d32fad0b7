import type { RepoIndexFacts, ReposRepo, RepoRow } from '../../storage/db/repos-repo.js'
import { parseFrontMatter } from '../protocol/front-matter.js'
import type { ContentService } from './content-service.js'
import { Lru } from './lru.js'

export type CardFacts = Omit<RepoIndexFacts, 'sha' | 'lastModified'>

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v]
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

/**
 * Derives what info and listings show from a commit: the README's front matter (`cardData`,
 * `library_name`, `pipeline_tag`), tags (card tags plus `license:…`, `dataset:…`, `base_model:…`,
 * languages, library and weight formats, like the Hub) and the storage used. Keeps the repos table
 * current for the default branch's head, so listings never read repositories.
 */
export class RepoIndexer {
  private readonly byCommit = new Lru<string, CardFacts>(2048)

  constructor(
    private readonly repos: ReposRepo,
    private readonly content: ContentService,
  ) {}

  /** Facts at a commit (cached: a commit never changes). */
  async describe(repo: RepoRow, commit: string): Promise<CardFacts> {
    const key = `${repo.id}:${commit}`
    const cached = this.byCommit.get(key)
    if (cached) return cached
    const files = await this.content.files(repo, commit)
    let cardData: Record<string, unknown> | null = null
    const readme = files.find((f) => f.path === 'README.md')
    if (readme && !readme.lfs && readme.size < 1024 * 1024) {
      const fm = parseFrontMatter((await this.content.readBlob(repo, readme.oid)).toString('utf8'))
      if (fm.kind === 'ok') cardData = fm.data
    }
    const card = cardData ?? {}
    const libraryName = typeof card.library_name === 'string' ? card.library_name : null
    const pipelineTag = typeof card.pipeline_tag === 'string' ? card.pipeline_tag : null
    const tags = new Set<string>(strings(card.tags))
    if (libraryName) tags.add(libraryName)
    if (pipelineTag) tags.add(pipelineTag)
    for (const l of strings(card.license)) tags.add(`license:${l}`)
    for (const d of strings(card.datasets)) tags.add(`dataset:${d}`)
    for (const b of strings(card.base_model)) tags.add(`base_model:${b}`)
    for (const l of strings(card.language)) tags.add(l)
    if (repo.type === 'space' && repo.sdk) tags.add(repo.sdk)
    for (const [ext, tag] of [['.safetensors', 'safetensors'], ['.gguf', 'gguf'], ['.onnx', 'onnx']] as const) {
      if (files.some((f) => f.path.endsWith(ext))) tags.add(tag)
    }
    const facts: CardFacts = {
      cardData,
      libraryName,
      pipelineTag,
      tags: [...tags].filter((t) => t.length > 0 && t.length <= 200).sort(),
      usedStorage: files.reduce((n, f) => n + f.size, 0),
    }
    this.byCommit.set(key, facts)
    return facts
  }

  /** Re-indexes the repo if its default branch moved since the last indexing; returns the fresh row. */
  async refresh(repo: RepoRow): Promise<RepoRow> {
    const head = await this.content.git(repo).readRef(`refs/heads/${repo.default_branch}`)
    if (!head || head === repo.sha) return repo
    const commit = await this.content.commit(repo, head)
    const facts = await this.describe(repo, head)
    this.repos.index(repo.id, { ...facts, sha: head, lastModified: new Date(commit.committer.timestamp * 1000).toISOString() })
    return this.repos.findById(repo.id) ?? repo
  }
}
