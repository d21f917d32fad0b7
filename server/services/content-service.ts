import type { RepoRow } from '../../storage/db/repos-table.js'
import type { GitBlobInfo, LfsTable } from '../../storage/db/lfs-table.js'
import { parsePointer, MAX_POINTER_SIZE } from '../../storage/formats/lfs-pointer.js'
import type { CommitInfo, GitRepo, ResolvedRev, TreeEntry } from '../../storage/git/git-repo.js'
import type { RefSnapshot } from '../../storage/git/ref-snapshot.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { errors } from '../errors.js'
import { Lru } from '../cache/lru.js'
import { ResponseCache } from '../cache/response-cache.js'

/** Blobs up to this size are kept in memory once read. */
const SMALL_BLOB = 64 * 1024

export interface LfsInfo {
  oid: string
  size: number
  pointerSize: number
}

export interface FileEntry {
  type: 'file'
  path: string
  /** Git blob id (of the pointer, for LFS files). */
  oid: string
  /** Real size: the object's size for LFS files. */
  size: number
  lfs: LfsInfo | null
}

export interface DirEntry {
  type: 'directory'
  path: string
  oid: string
  size: 0
}

export type Entry = FileEntry | DirEntry

/**
 * Reads what a repository holds at a revision: resolution, commits, entries and listings. Every
 * cache here is keyed by commit or object id, which never change meaning, so none needs invalidating;
 * only refs move (in any process sharing the data dir): see `refs`.
 */
export class ContentService {
  private readonly commits = new Lru<string, CommitInfo>(4096)
  private readonly entries = new Lru<string, Entry | null>(16384)
  private readonly listings = new Lru<string, Entry[] | null>(64)
  /** Listings in progress: concurrent asks (clients arriving together after a start) share one. */
  private readonly listing = new Map<string, Promise<Entry[] | null>>()
  private readonly smallBlobs = new ResponseCache(16 * 1024 * 1024)
  private readonly derived = new WeakMap<RefSnapshot, Map<string, unknown>>()

  /** `stamp` changes whenever refs may have moved (ReposTable.generation). */
  constructor(
    private readonly store: RepoStore,
    private readonly lfs: LfsTable,
    private readonly stamp: () => number,
  ) {}

  git(repo: RepoRow): GitRepo {
    return this.store.open(repo.id)
  }

  /**
   * The repo's refs as a read request sees them, for `isRef` then `resolve`: shared by requests
   * until a ref moves (GitRepo.sharedRefs). Writers read refs afresh (GitRepo.readRef).
   */
  refs(repo: RepoRow): RefSnapshot {
    return this.git(repo).sharedRefs(this.stamp())
  }

  /**
   * A value derived from `refs` under `key` (callers prefix their keys), kept as long as that
   * view of the refs is shared (`refs`): a hot request then skips parsing and resolving its URL.
   */
  remembered<T>(refs: RefSnapshot, key: string): T | undefined {
    return this.derived.get(refs)?.get(key) as T | undefined
  }

  remember<T>(refs: RefSnapshot, key: string, value: T): T {
    let m = this.derived.get(refs)
    if (!m) this.derived.set(refs, (m = new Map()))
    if (m.size >= 1024) m.clear()
    m.set(key, value)
    return value
  }

  /** Resolves a revision or throws RevisionNotFound (docs/hub-api.md §1.5). */
  async resolve(repo: RepoRow, rev: string, refs?: RefSnapshot): Promise<ResolvedRev> {
    const resolved = await this.git(repo).resolve(rev, repo.default_branch, refs)
    if (!resolved) throw errors.revisionNotFound(rev)
    return resolved
  }

  /** Whether `name` is an existing branch or tag (for revisions sent unencoded with slashes). */
  async isRef(repo: RepoRow, name: string, refs: RefSnapshot = this.refs(repo)): Promise<boolean> {
    return refs.read(`refs/heads/${name}`) !== null || refs.read(`refs/tags/${name}`) !== null
  }

  async commit(repo: RepoRow, oid: string): Promise<CommitInfo> {
    const key = `${repo.id}:${oid}`
    let c = this.commits.get(key)
    if (!c) {
      c = await this.git(repo).readCommit(oid)
      this.commits.set(key, c)
    }
    return c
  }

  /** The file or folder at `path` (root for ''), or null. */
  async entry(repo: RepoRow, commit: string, path: string): Promise<Entry | null> {
    const key = `${repo.id}:${commit}:${path}`
    const cached = this.entries.get(key)
    if (cached !== undefined) return cached
    const git = this.git(repo)
    const { tree } = await this.commit(repo, commit)
    const raw = await git.entryAt(tree, path)
    const entry = raw ? (await this.describe(git, [raw]))[0]! : null
    this.entries.set(key, entry)
    return entry
  }

  /**
   * Entries below the folder `path` (direct children, or all descendants with folders included),
   * sorted byte-wise by path. Null when `path` is missing or is a file.
   */
  async list(repo: RepoRow, commit: string, path: string, recursive: boolean): Promise<Entry[] | null> {
    const key = `${repo.id}:${commit}:${recursive ? 'r' : 'n'}:${path}`
    const cached = this.listings.get(key)
    if (cached !== undefined) return cached
    let running = this.listing.get(key)
    if (!running) {
      running = this.listUncached(repo, commit, path, recursive, key).finally(() => this.listing.delete(key))
      this.listing.set(key, running)
    }
    return running
  }

  private async listUncached(repo: RepoRow, commit: string, path: string, recursive: boolean, key: string): Promise<Entry[] | null> {
    const dir = await this.entry(repo, commit, path)
    let result: Entry[] | null = null
    if (dir?.type === 'directory') {
      const git = this.git(repo)
      const raw: TreeEntry[] = []
      await this.walk(git, dir.oid, path, recursive, raw)
      // Byte-wise order; each path encoded once, not twice per comparison (10,000 entries: ~10×).
      const described = await this.describe(git, raw)
      const keyed = described.map((e) => ({ e, k: Buffer.from(e.path) }))
      keyed.sort((a, b) => Buffer.compare(a.k, b.k))
      result = keyed.map((x) => x.e)
    }
    this.listings.set(key, result)
    return result
  }

  /** Every file at the commit (repo info `siblings`). */
  async files(repo: RepoRow, commit: string): Promise<FileEntry[]> {
    const all = (await this.list(repo, commit, '', true)) ?? []
    return all.filter((e): e is FileEntry => e.type === 'file')
  }

  private async walk(git: GitRepo, tree: string, prefix: string, recursive: boolean, out: TreeEntry[]): Promise<void> {
    for (const e of await git.readTree(tree)) {
      const path = prefix ? `${prefix}/${e.path}` : e.path
      if (e.type === 'commit') continue // submodules are not files
      out.push({ ...e, path })
      if (recursive && e.type === 'tree') await this.walk(git, e.oid, path, true, out)
    }
  }

  /** Raw tree entries with sizes and LFS facts, as listings show them (the indexer's tree diffs). */
  describeEntries(repo: RepoRow, raw: TreeEntry[]): Promise<Entry[]> {
    return raw.length === 0 ? Promise.resolve([]) : this.describe(this.git(repo), raw)
  }

  /** Adds sizes and LFS facts to raw tree entries, from the blob index (reading unknown blobs once). */
  private async describe(git: GitRepo, raw: TreeEntry[]): Promise<Entry[]> {
    const blobOids = raw.filter((e) => e.type === 'blob').map((e) => e.oid)
    const known = this.lfs.blobs(blobOids)
    const learned: GitBlobInfo[] = []
    for (const oid of blobOids) {
      if (known.has(oid)) continue
      const info = blobInfo(oid, await git.readBlob(oid))
      known.set(oid, info)
      learned.push(info)
    }
    if (learned.length) this.lfs.recordBlobs(learned)
    return raw.map((e): Entry => {
      if (e.type !== 'blob') return { type: 'directory', path: e.path, oid: e.oid, size: 0 }
      const info = known.get(e.oid)!
      const lfs = info.lfs_oid ? { oid: info.lfs_oid, size: info.lfs_size!, pointerSize: info.size } : null
      return { type: 'file', path: e.path, oid: e.oid, size: lfs ? lfs.size : info.size, lfs }
    })
  }

  /** A blob's bytes; small ones (config files, read on every GET of them) stay in memory. */
  async readBlob(repo: RepoRow, oid: string): Promise<Buffer> {
    const key = `${repo.id}:${oid}`
    const hit = this.smallBlobs.get(key)
    if (hit) return hit.body
    const blob = await this.git(repo).readBlob(oid)
    // A copy: the blob may be a view into a larger buffer that should not stay alive with it.
    if (blob.byteLength <= SMALL_BLOB) this.smallBlobs.set(key, Buffer.from(blob), null)
    return blob
  }
}

/** Index facts for a blob's content: its size, and the object it points to if it is an LFS pointer. */
export function blobInfo(oid: string, content: Uint8Array): GitBlobInfo {
  const pointer = content.byteLength <= MAX_POINTER_SIZE ? parsePointer(content) : null
  return { oid, size: content.byteLength, lfs_oid: pointer?.oid ?? null, lfs_size: pointer?.size ?? null }
}
