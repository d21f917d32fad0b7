import type { RepoIndexFacts, ReposTable, RepoRow } from '../../storage/db/repos-table.js'
import type { GitRepo, TreeEntry } from '../../storage/git/git-repo.js'
import type { RefSnapshot } from '../../storage/git/ref-snapshot.js'
import { parseFrontMatter } from '../protocol/front-matter.js'
import type { ContentService, FileEntry } from './content-service.js'
import { Lru } from '../cache/lru.js'

export type CardFacts = Omit<RepoIndexFacts, 'sha' | 'lastModified'>

/** Weight formats that become tags when any file has the extension, like the Hub. */
const FORMATS = [
  ['.safetensors', 'safetensors'],
  ['.gguf', 'gguf'],
  ['.onnx', 'onnx'],
] as const

/** Everything facts at a commit are derived from, kept so the next commit can be indexed from its diff. */
interface Snapshot {
  facts: CardFacts
  /** README.md at the commit (any kind), or null. */
  readme: FileEntry | null
  /** Files per weight-format extension (a tag stays while one is left). */
  formats: number[]
  usedStorage: number
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v]
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

function formatOf(path: string): number {
  return FORMATS.findIndex(([ext]) => path.endsWith(ext))
}

/**
 * Derives what info and listings show from a commit: the README's front matter (`cardData`,
 * `library_name`, `pipeline_tag`), tags (card tags plus `license:…`, `dataset:…`, `base_model:…`,
 * languages, library and weight formats, like the Hub) and the storage used. Keeps the repos table
 * current for the default branch's head, so listings never read repositories.
 *
 * @NOTE: a commit whose first parent was indexed by this process is indexed from the difference of
 * the two trees (only changed folders are read); listing every file again cost 0.2–0.6 s per
 * one-file commit with 10,000 files (bench/metadata.mjs). Otherwise (a first commit, after a
 * restart) the whole tree is listed once.
 */
export class RepoIndexer {
  private readonly byCommit = new Lru<string, Snapshot>(2048)
  /** Indexings in progress: concurrent asks for one commit (clients arriving together) share one. */
  private readonly inFlight = new Map<string, Promise<Snapshot>>()

  constructor(
    private readonly repos: ReposTable,
    private readonly content: ContentService,
  ) {}

  /** Facts at a commit (cached: a commit never changes). */
  async describe(repo: RepoRow, commit: string): Promise<CardFacts> {
    return (await this.snapshot(repo, commit)).facts
  }

  private snapshot(repo: RepoRow, commit: string): Promise<Snapshot> {
    const key = `${repo.id}:${commit}`
    const cached = this.byCommit.get(key)
    if (cached) return Promise.resolve(cached)
    let running = this.inFlight.get(key)
    if (!running) {
      running = this.index(repo, commit, key).finally(() => this.inFlight.delete(key))
      this.inFlight.set(key, running)
    }
    return running
  }

  private async index(repo: RepoRow, commit: string, key: string): Promise<Snapshot> {
    const info = await this.content.commit(repo, commit)
    const parent = info.parents[0] ? this.byCommit.get(`${repo.id}:${info.parents[0]}`) : undefined
    const snap = parent
      ? await this.fromParent(repo, parent, (await this.content.commit(repo, info.parents[0]!)).tree, info.tree)
      : await this.fromListing(repo, commit)
    this.byCommit.set(key, snap)
    return snap
  }

  private async fromListing(repo: RepoRow, commit: string): Promise<Snapshot> {
    const files = await this.content.files(repo, commit)
    const formats = FORMATS.map(() => 0)
    for (const f of files) {
      const i = formatOf(f.path)
      if (i >= 0) formats[i]!++
    }
    const readme = files.find((f) => f.path === 'README.md') ?? null
    const usedStorage = files.reduce((n, f) => n + f.size, 0)
    return this.build(repo, readme, await this.cardData(repo, readme), formats, usedStorage)
  }

  private async fromParent(repo: RepoRow, parent: Snapshot, oldTree: string, newTree: string): Promise<Snapshot> {
    const removedRaw: TreeEntry[] = []
    const addedRaw: TreeEntry[] = []
    await diffTrees(this.content.git(repo), oldTree, newTree, '', removedRaw, addedRaw)
    const [removed, added] = await Promise.all([
      this.content.describeEntries(repo, removedRaw),
      this.content.describeEntries(repo, addedRaw),
    ])
    const formats = [...parent.formats]
    let usedStorage = parent.usedStorage
    let readme = parent.readme
    let readmeChanged = false
    for (const [entries, sign] of [[removed, -1], [added, 1]] as const) {
      for (const e of entries) {
        if (e.type !== 'file') continue
        usedStorage += sign * e.size
        const i = formatOf(e.path)
        if (i >= 0) formats[i]! += sign
        if (e.path === 'README.md') {
          readmeChanged = true
          readme = sign > 0 ? e : readme?.oid === e.oid ? null : readme
        }
      }
    }
    const cardData = readmeChanged ? await this.cardData(repo, readme) : parent.facts.cardData
    return this.build(repo, readme, cardData, formats, usedStorage)
  }

  private async cardData(repo: RepoRow, readme: FileEntry | null): Promise<Record<string, unknown> | null> {
    if (!readme || readme.lfs || readme.size >= 1024 * 1024) return null
    const fm = parseFrontMatter((await this.content.readBlob(repo, readme.oid)).toString('utf8'))
    return fm.kind === 'ok' ? fm.data : null
  }

  private build(repo: RepoRow, readme: FileEntry | null, cardData: Record<string, unknown> | null, formats: number[], usedStorage: number): Snapshot {
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
    FORMATS.forEach(([, tag], i) => {
      if (formats[i]! > 0) tags.add(tag)
    })
    const facts: CardFacts = {
      cardData,
      libraryName,
      pipelineTag,
      tags: [...tags].filter((t) => t.length > 0 && t.length <= 200).sort(),
      usedStorage,
    }
    return { facts, readme, formats, usedStorage }
  }

  /**
   * Re-indexes the repo if its default branch moved since the last indexing; returns the fresh row.
   * `refs`: the request's view of the refs, when it goes on to resolve a revision.
   */
  async refresh(repo: RepoRow, refs: RefSnapshot = this.content.refs(repo)): Promise<RepoRow> {
    const head = refs.read(`refs/heads/${repo.default_branch}`)
    if (!head || head === repo.sha) return repo
    const commit = await this.content.commit(repo, head)
    const facts = await this.describe(repo, head)
    this.repos.index(repo.id, { ...facts, sha: head, lastModified: new Date(commit.committer.timestamp * 1000).toISOString() })
    return this.repos.findById(repo.id) ?? repo
  }
}

/**
 * Blobs that differ between two trees, with full paths: `removed` from the old, `added` from the
 * new (a changed file is in both). Identical subtrees are skipped unread; submodules are not files.
 */
async function diffTrees(git: GitRepo, oldTree: string | null, newTree: string | null, prefix: string, removed: TreeEntry[], added: TreeEntry[]): Promise<void> {
  if (oldTree === newTree) return
  const [before, after] = await Promise.all([oldTree ? git.readTree(oldTree) : [], newTree ? git.readTree(newTree) : []])
  const old = new Map(before.map((e) => [e.path, e]))
  const seen = new Set<string>()
  const visit = async (a: TreeEntry | undefined, b: TreeEntry | undefined, name: string) => {
    if (a && b && a.oid === b.oid && a.type === b.type) return
    const path = prefix ? `${prefix}/${name}` : name
    const aTree = a?.type === 'tree' ? a.oid : null
    const bTree = b?.type === 'tree' ? b.oid : null
    if (aTree || bTree) await diffTrees(git, aTree, bTree, path, removed, added)
    if (a?.type === 'blob') removed.push({ ...a, path })
    if (b?.type === 'blob') added.push({ ...b, path })
  }
  for (const b of after) {
    seen.add(b.path)
    await visit(old.get(b.path), b, b.path)
  }
  for (const a of before) if (!seen.has(a.path)) await visit(a, undefined, a.path)
}
