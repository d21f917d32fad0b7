import git from 'isomorphic-git'
import { atomicFs } from './atomic-fs.js'
import { Quarantine } from './quarantine.js'
import { RefSnapshot, RefValues } from './ref-snapshot.js'
import { casDeleteRef, casRef } from './ref-cas.js'
import { validRefName } from '../formats/ref-name.js'

export interface TreeEntry {
  mode: string
  path: string
  oid: string
  type: 'blob' | 'tree' | 'commit'
}

export interface CommitInfo {
  oid: string
  tree: string
  parents: string[]
  message: string
  author: { name: string; email: string; timestamp: number; timezoneOffset: number }
  committer: { name: string; email: string; timestamp: number; timezoneOffset: number }
}

export interface Identity {
  name: string
  email: string
}

/** What a revision string resolved to. */
export interface ResolvedRev {
  commit: string
  /** The full ref name when the revision named a ref (`refs/heads/main`), else null. */
  ref: string | null
}

const HEX40 = /^[0-9a-f]{40}$/
const HEX_PREFIX = /^[0-9a-f]{7,39}$/

/** Errors isomorphic-git throws for a missing object or ref. */
export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code
  return code === 'NotFoundError' || code === 'ReadObjectFail' || code === 'AmbiguousError'
}

/** Longest a shared view of the refs is trusted without a stamp change (see `sharedRefs`). */
const SHARED_REFS_MAX_MS = 1000
/** Ref files a shared view may remember before it is renewed (names come from URLs). */
const SHARED_REFS_MAX_NAMES = 1024

/**
 * One bare repository. The only importer of isomorphic-git, with one long-lived object cache per
 * repository (without it every read reloads and re-verifies whole packs) and the atomic fs client.
 */
export class GitRepo {
  private cache: object = {}
  private readonly peeled = new Map<string, string>()
  private readonly refValues = new RefValues()
  private shared: { refs: RefSnapshot; stamp: number; at: number } | null = null

  /**
   * `onRefsMoved` runs after every ref change made through `setRef`/`deleteRef`; `fs` is where
   * objects are read and written (a Quarantine's, see `quarantined`).
   */
  constructor(
    readonly gitdir: string,
    private readonly onRefsMoved: () => void = () => {},
    private readonly fs: typeof atomicFs = atomicFs,
  ) {}

  private get base() {
    return { fs: this.fs, gitdir: this.gitdir, cache: this.cache }
  }

  /**
   * A view of this repository whose new objects stay in a quarantine until `publish` moves them
   * in: a write that is then refused or fails discards them instead of leaving them here for good.
   * Refs are shared; move them only after `publish`.
   */
  quarantined(): { repo: GitRepo; quarantine: Quarantine } {
    const quarantine = Quarantine.create(this.gitdir)
    const repo = new GitRepo(this.gitdir, this.onRefsMoved, quarantine.fs)
    // The pack cache is shared: packs look the same through either fs.
    repo.cache = this.cache
    return { repo, quarantine }
  }

  /**
   * Runs an isomorphic-git read; on a failure other than "not found", drops the pack cache and
   * tries once more. @NOTE: a pack listed (or indexed) just before maintenance deleted it fails
   * the read (`TypeError … 'slice'` from loadPackIndex, or "Could not read packfile"), possibly
   * in another hubd process sharing the data dir; a fresh listing no longer names it.
   */
  private async read<T>(fn: (base: { fs: typeof atomicFs; gitdir: string; cache: object }) => Promise<T>): Promise<T> {
    try {
      return await fn(this.base)
    } catch (err) {
      if (isNotFound(err)) throw err
      this.cache = {}
      return fn(this.base)
    }
  }

  static async init(gitdir: string, defaultBranch: string): Promise<GitRepo> {
    await git.init({ fs: atomicFs, gitdir, bare: true, defaultBranch })
    return new GitRepo(gitdir)
  }

  /** A view of the refs for one request: each ref file is looked at once (see RefSnapshot). */
  refs(): RefSnapshot {
    return new RefSnapshot(this.gitdir, this.refValues)
  }

  /**
   * A view of the refs shared by every request that sees the same `stamp` (a value that changes
   * whenever any process may have moved refs: the database version, which every ref change bumps;
   * see `setRef`), so a hot read costs no syscall at all. Also renewed after SHARED_REFS_MAX_MS, so
   * a ref changed behind hubd's back (git run by hand on the bare repo) shows within that time.
   * @NOTE: resolve spent about a quarter of its CPU stat-ing three ref files per request
   * (bench/README.md, metadata).
   */
  sharedRefs(stamp: number): RefSnapshot {
    const now = Date.now()
    const s = this.shared
    if (s && s.stamp === stamp && now - s.at < SHARED_REFS_MAX_MS && s.refs.looked < SHARED_REFS_MAX_NAMES) return s.refs
    const refs = this.refs()
    this.shared = { refs, stamp, at: now }
    return refs
  }

  /** Moves a ref if it still points at `expected` (null: absent) — RefConflictError otherwise. */
  async setRef(ref: string, expected: string | null, next: string): Promise<void> {
    await casRef(this.gitdir, ref, expected, next)
    this.refsMoved()
  }

  /** Deletes a ref if it still points at `expected` — RefConflictError otherwise. */
  async deleteRef(ref: string, expected: string): Promise<void> {
    await casDeleteRef(this.gitdir, ref, expected)
    this.refsMoved()
  }

  /** Refs moved (here or by a git process): drops the shared view, tells the owner. */
  refsMoved(): void {
    this.shared = null
    this.onRefsMoved()
  }

  /** Reads a full ref name (`refs/heads/x`) to its target, without peeling. */
  readRef(ref: string): Promise<string | null> {
    return Promise.resolve(this.refs().read(ref))
  }

  /** Follows annotated tags down to the commit they name. */
  async peelToCommit(oid: string): Promise<string | null> {
    // Object ids name immutable content, so a found answer holds forever; every revision a
    // request names is peeled, and reading the object costs far more than the rest of a resolve.
    const known = this.peeled.get(oid)
    if (known) return known
    const commit = await this.peel(oid)
    if (commit) {
      if (this.peeled.size >= 1024) this.peeled.delete(this.peeled.keys().next().value!)
      this.peeled.set(oid, commit)
    }
    return commit
  }

  private async peel(oid: string): Promise<string | null> {
    for (let depth = 0; depth < 10; depth++) {
      let obj: Awaited<ReturnType<typeof git.readObject>>
      try {
        obj = await this.read((base) => git.readObject({ ...base, oid, format: 'parsed' }))
      } catch (err) {
        if (isNotFound(err)) return null
        throw err
      }
      if (obj.type === 'commit') return oid
      if (obj.type !== 'tag') return null
      oid = (obj.object as { object: string }).object
    }
    return null
  }

  /**
   * Resolves a revision per docs/hub-api.md §1.5: HEAD/empty → default branch, full ref names, a 40-hex commit,
   * a branch, a tag, then a unique hex prefix of at least 7 characters. Null if nothing matches.
   * `refs`: the request's view of the refs, when it already read some (revision parsing).
   */
  async resolve(rev: string, defaultBranch: string, refs: RefSnapshot = this.refs()): Promise<ResolvedRev | null> {
    if (rev === '' || rev === 'HEAD') rev = defaultBranch
    const candidates: string[] = []
    if (/^refs\/(heads|tags|pr|convert)\/./.test(rev)) candidates.push(rev)
    else if (HEX40.test(rev)) {
      const commit = await this.peelToCommit(rev)
      if (commit) return { commit, ref: null }
    }
    if (!rev.startsWith('refs/')) candidates.push(`refs/heads/${rev}`, `refs/tags/${rev}`)
    for (const ref of candidates) {
      if (!validRefName(ref)) continue
      const target = refs.read(ref)
      if (target) {
        const commit = await this.peelToCommit(target)
        if (commit) return { commit, ref }
      }
    }
    if (HEX_PREFIX.test(rev)) {
      try {
        const oid = await this.read((base) => git.expandOid({ ...base, oid: rev }))
        const commit = await this.peelToCommit(oid)
        if (commit) return { commit, ref: null }
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
    }
    return null
  }

  async readCommit(oid: string): Promise<CommitInfo> {
    const { commit } = await this.read((base) => git.readCommit({ ...base, oid }))
    return { oid, tree: commit.tree, parents: commit.parent, message: commit.message, author: commit.author, committer: commit.committer }
  }

  async readTree(oid: string): Promise<TreeEntry[]> {
    const { tree } = await this.read((base) => git.readTree({ ...base, oid }))
    return tree as TreeEntry[]
  }

  async readBlob(oid: string): Promise<Buffer> {
    const { blob } = await this.read((base) => git.readBlob({ ...base, oid }))
    return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)
  }

  /**
   * The entry at `path` in a tree (walking one tree per segment), or null. The empty path is the
   * root tree itself.
   */
  async entryAt(rootTree: string, path: string): Promise<TreeEntry | null> {
    let entry: TreeEntry = { mode: '040000', path: '', oid: rootTree, type: 'tree' }
    if (path === '') return entry
    for (const name of path.split('/')) {
      if (entry.type !== 'tree') return null
      const found = (await this.readTree(entry.oid)).find((e) => e.path === name)
      if (!found) return null
      entry = found
    }
    return { ...entry, path }
  }

  /**
   * Refs below a prefix (`refs/heads`), loose and packed, with their targets (not peeled).
   * In-flight `.lock` files are not refs.
   */
  async listRefs(prefix: string): Promise<{ name: string; ref: string; oid: string }[]> {
    const names = await git.listRefs({ fs: this.fs, gitdir: this.gitdir, filepath: prefix })
    const out: { name: string; ref: string; oid: string }[] = []
    for (const name of names) {
      if (name.endsWith('.lock')) continue
      const oid = await this.readRef(`${prefix}/${name}`)
      if (oid) out.push({ name, ref: `${prefix}/${name}`, oid })
    }
    return out
  }

  /** Writes an annotated tag object; the ref itself is moved by compare-and-swap. */
  writeTag(t: { object: string; name: string; message: string; tagger: Identity; when?: Date }): Promise<string> {
    const when = t.when ?? new Date()
    return git.writeTag({
      fs: this.fs,
      gitdir: this.gitdir,
      tag: {
        object: t.object,
        type: 'commit',
        tag: t.name,
        tagger: { ...t.tagger, timestamp: Math.floor(when.getTime() / 1000), timezoneOffset: 0 },
        message: t.message.endsWith('\n') ? t.message : `${t.message}\n`,
      },
    })
  }

  writeBlob(content: Uint8Array): Promise<string> {
    return git.writeBlob({ fs: this.fs, gitdir: this.gitdir, blob: content })
  }

  writeTree(entries: TreeEntry[]): Promise<string> {
    return git.writeTree({ fs: this.fs, gitdir: this.gitdir, tree: entries })
  }

  writeCommit(c: { tree: string; parents: string[]; message: string; author: Identity; when?: Date }): Promise<string> {
    const when = c.when ?? new Date()
    const person = { ...c.author, timestamp: Math.floor(when.getTime() / 1000), timezoneOffset: 0 }
    return git.writeCommit({
      fs: this.fs,
      gitdir: this.gitdir,
      commit: { tree: c.tree, parent: c.parents, message: c.message, author: person, committer: person },
    })
  }
}
