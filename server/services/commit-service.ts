import type { RepoRow } from '../../storage/db/repos-table.js'
import type { GitBlobInfo, LfsTable } from '../../storage/db/lfs-table.js'
import type { ReposTable } from '../../storage/db/repos-table.js'
import type { UserRow } from '../../storage/db/users-table.js'
import { LfsAttributes, lfsRuleFor } from '../../storage/formats/gitattributes.js'
import type { PatternLimits } from '../../storage/formats/pattern-limits.js'
import { formatPointer } from '../../storage/formats/lfs-pointer.js'
import type { GitRepo } from '../../storage/git/git-repo.js'
import type { Quarantine } from '../../storage/git/quarantine.js'
import { RefConflictError } from '../../storage/git/ref-cas.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { TreeEditError, TreeEditor, type TreeOp } from '../../storage/git/tree-edit.js'
import { errors } from '../errors.js'
import { CommitLineError, parseCommitLine, type CommitHeader, type CommitOp } from '../protocol/commit-ops.js'
import { blobInfo } from './content-service.js'
import { authorOf } from '../protocol/identity.js'
import type { PullRequestService } from './pull-request-service.js'
import type { RepoIndexer } from './repo-indexer.js'

/** An operation after its content has been written to git: only ids remain, no file bytes. */
type PreparedOp =
  | { kind: 'put'; path: string; oid: string; lfs: boolean }
  | { kind: 'delete'; path: string; mustExist: boolean }
  | { kind: 'copy'; path: string; srcPath: string; srcRevision: string | null }

const MAX_CAS_RETRIES = 20

/**
 * The NDJSON commit (docs/hub-api.md §6): file contents are written to git as lines stream in (so a large
 * body is never held whole), then the tree is built on the branch head and the ref moved by
 * compare-and-swap; on a lost race without `parentCommit` it rebuilds on the new head.
 */
export class CommitService {
  constructor(
    private readonly store: RepoStore,
    private readonly repos: ReposTable,
    private readonly lfs: LfsTable,
    private readonly pullRequests: PullRequestService,
    private readonly indexer: RepoIndexer,
    private readonly publicUrl: () => string,
    /** Bounds on the `.gitattributes` read to cover new LFS paths. */
    private readonly patternLimits: PatternLimits,
    /** Files uploaded through Xet, named by their sha256 (docs/xet-protocol.md §1.5). */
    private readonly xet?: { adoptForCommit(repoId: string, oid: string, size: number | null): Promise<number | undefined> },
  ) {}

  /** Resolves a commit target: a branch or `refs/pr/N` that exists (docs/hub-api.md §1.5). */
  async targetRef(repo: RepoRow, rev: string): Promise<string> {
    const git = this.store.open(repo.id)
    if (rev === '' || rev === 'HEAD') rev = repo.default_branch
    const ref = /^refs\/(heads|pr)\//.test(rev) ? rev : `refs/heads/${rev}`
    if (!/^refs\/(heads\/.+|pr\/\d+)$/.test(ref) || !(await git.readRef(ref))) throw errors.revisionNotFound(rev)
    return ref
  }

  /**
   * Commits to `ref`, or with `createPr` opens a pull request whose first commit builds on `ref`
   * (a branch) without moving it (docs/hub-api.md §6.4).
   */
  async commit(
    repo: RepoRow,
    user: UserRow,
    ref: string,
    lines: AsyncIterable<string>,
    opts: { readsAll: boolean; createPr: boolean },
  ): Promise<{ commitOid: string; pullRequest: number | null }> {
    if (opts.createPr && !ref.startsWith('refs/heads/')) throw errors.revisionNotFound(ref)
    // Contents are written as the body streams in, before anything is checked: quarantined, so a
    // refused or failed commit leaves nothing in the repository (they are published just before
    // the ref moves).
    const { repo: git, quarantine } = this.store.open(repo.id).quarantined()
    try {
      return await this.commitQuarantined(repo, user, ref, lines, opts, git, quarantine)
    } finally {
      await quarantine.discard()
    }
  }

  private async commitQuarantined(
    repo: RepoRow,
    user: UserRow,
    ref: string,
    lines: AsyncIterable<string>,
    opts: { readsAll: boolean; createPr: boolean },
    git: GitRepo,
    quarantine: Quarantine,
  ): Promise<{ commitOid: string; pullRequest: number | null }> {
    const { header, ops, blobs, lfsOids } = await this.prepare(git, repo, lines, opts.readsAll)
    this.lfs.recordBlobs(blobs)
    const message = header.description ? `${header.summary}\n\n${header.description}` : header.summary
    const author = authorOf(user.name, this.publicUrl())
    // Objects reused from another readable repo become this repo's own (docs/hub-api.md §5.10) — only
    // once the commit has landed: a refused commit must not widen who may reuse an object.
    const linkObjects = () => {
      for (const lfsOid of lfsOids) this.lfs.link(repo.id, lfsOid)
    }

    if (opts.createPr) {
      const head = await git.readRef(ref)
      if (!head) throw errors.revisionNotFound(ref)
      const parent = header.parentCommit ? (await git.resolve(header.parentCommit, repo.default_branch))?.commit : head
      if (!parent) throw errors.revisionNotFound(header.parentCommit!)
      const tree = await this.buildTree(git, repo, (await git.readCommit(parent)).tree, ops)
      const oid = await git.writeCommit({ tree, parents: [parent], message, author })
      await quarantine.publish()
      linkObjects()
      const num = await this.pullRequests.open(repo, ref.slice('refs/heads/'.length), oid, header.summary, header.description, user.name)
      return { commitOid: oid, pullRequest: num }
    }

    const commitOid = await this.store.exclusive(repo.id, async () => {
      for (let attempt = 0; ; attempt++) {
        const head = await git.readRef(ref)
        if (!head) throw errors.revisionNotFound(ref)
        if (header.parentCommit && !head.startsWith(header.parentCommit)) throw errors.preconditionFailed()
        const { tree: baseTree } = await git.readCommit(head)
        const tree = await this.buildTree(git, repo, baseTree, ops)
        const oid = await git.writeCommit({ tree, parents: [head], message, author })
        await quarantine.publish()
        try {
          await git.setRef(ref, head, oid)
        } catch (err) {
          if (!(err instanceof RefConflictError)) throw err
          if (header.parentCommit) throw errors.preconditionFailed()
          if (attempt >= MAX_CAS_RETRIES) throw errors.conflict('The branch is busy; try the commit again')
          continue
        }
        linkObjects()
        return oid
      }
    })
    if (ref === `refs/heads/${repo.default_branch}`) await this.indexer.refresh(repo)
    else this.repos.touch(repo.id)
    this.store.wrote(repo.id)
    return { commitOid, pullRequest: null }
  }

  /** Reads and checks every line, writing file contents to git as it goes. Nothing moves yet. */
  private async prepare(git: GitRepo, repo: RepoRow, lines: AsyncIterable<string>, readsAll: boolean) {
    let header: CommitHeader | null = null
    const ops: PreparedOp[] = []
    const blobs: GitBlobInfo[] = []
    const lfsOids = new Set<string>()
    let n = 0
    try {
      for await (const text of lines) {
        n++
        if (text.trim() === '') continue
        const line = parseCommitLine(text, n)
        if (line.key === 'header') {
          if (header) throw new CommitLineError(`line ${n}: a second header`, 400)
          header = line.value
          continue
        }
        if (!header) throw new CommitLineError('the first line must be the header ({"key": "header", ...})', 400)
        ops.push(await this.prepareOp(git, repo, line, blobs, lfsOids, readsAll))
      }
    } catch (err) {
      if (err instanceof CommitLineError) {
        throw err.status === 422 ? errors.unprocessable(err.message) : errors.badRequest(err.message)
      }
      throw err
    }
    if (!header) throw errors.badRequest('The commit body is empty: the first line must be the header')
    if (ops.length === 0) throw errors.badRequest('Add a line with the key `lfsFile`, `file` or `deletedFile`')
    return { header, ops, blobs, lfsOids }
  }

  private async prepareOp(
    git: GitRepo,
    repo: RepoRow,
    op: CommitOp,
    blobs: GitBlobInfo[],
    lfsOids: Set<string>,
    readsAll: boolean,
  ): Promise<PreparedOp> {
    switch (op.key) {
      case 'file': {
        const oid = await git.writeBlob(op.content)
        blobs.push(blobInfo(oid, op.content))
        return { kind: 'put', path: op.path, oid, lfs: false }
      }
      case 'lfsFile': {
        // A file uploaded through Xet becomes an LFS object once its sha256 is verified.
        const size = this.lfs.reusableSize(repo.id, op.oid, readsAll) ?? (await this.xet?.adoptForCommit(repo.id, op.oid, op.size))
        if (size === undefined) {
          throw errors.badRequest(
            `Your push was rejected because an LFS pointer pointed to a file that does not exist: ${op.path} (${op.oid})`,
          )
        }
        if (op.size !== null && op.size !== size) {
          throw errors.badRequest(`${op.path}: size ${op.size} does not match the stored object (${size} bytes)`)
        }
        const pointer = Buffer.from(formatPointer({ oid: op.oid, size }))
        const oid = await git.writeBlob(pointer)
        blobs.push(blobInfo(oid, pointer))
        lfsOids.add(op.oid)
        return { kind: 'put', path: op.path, oid, lfs: true }
      }
      case 'deletedFile':
        return { kind: 'delete', path: op.path, mustExist: true }
      case 'deletedFolder':
        return { kind: 'delete', path: op.path, mustExist: false }
      case 'copyFile':
        return { kind: 'copy', path: op.path, srcPath: op.srcPath, srcRevision: op.srcRevision }
    }
  }

  /** Applies the operations on `baseTree`, adding `.gitattributes` rules for uncovered LFS paths. */
  private async buildTree(git: GitRepo, repo: RepoRow, baseTree: string, ops: PreparedOp[]): Promise<string> {
    const editor = new TreeEditor(git, baseTree)
    const lfsPaths: string[] = []
    try {
      for (const op of ops) {
        if (op.kind === 'copy') {
          const srcTree = op.srcRevision ? await this.treeAt(git, repo, op.srcRevision) : baseTree
          const src = await git.entryAt(srcTree, op.srcPath)
          if (!src || src.type !== 'blob') throw errors.entryNotFound(undefined, `copyFile source not found: ${op.srcPath}`)
          await editor.apply({ kind: 'put', path: op.path, oid: src.oid, mode: src.mode })
          continue
        }
        const treeOp: TreeOp = op.kind === 'put' ? { kind: 'put', path: op.path, oid: op.oid } : op
        await editor.apply(treeOp)
        if (op.kind === 'put' && op.lfs) lfsPaths.push(op.path)
      }
      if (lfsPaths.length) await this.coverLfsPaths(git, editor, baseTree, ops, lfsPaths)
    } catch (err) {
      if (err instanceof TreeEditError) {
        throw err.kind === 'missing' ? errors.entryNotFound(undefined, err.message) : errors.unprocessable(err.message)
      }
      throw err
    }
    return editor.write()
  }

  private async coverLfsPaths(
    git: GitRepo,
    editor: TreeEditor,
    baseTree: string,
    ops: PreparedOp[],
    lfsPaths: string[],
  ): Promise<void> {
    // The .gitattributes this commit leaves behind: the last one it writes, else the base tree's.
    const written = ops.filter((o) => o.kind === 'put' && o.path === '.gitattributes').at(-1)
    let text = ''
    if (written?.kind === 'put') text = (await git.readBlob(written.oid)).toString('utf8')
    else {
      const base = await git.entryAt(baseTree, '.gitattributes')
      if (base?.type === 'blob') text = (await git.readBlob(base.oid)).toString('utf8')
    }
    const attrs = new LfsAttributes(text, this.patternLimits)
    const missing = [...new Set(lfsPaths.filter((p) => !attrs.isLfs(p)))]
    if (missing.length === 0) return
    const next = (text === '' || text.endsWith('\n') ? text : `${text}\n`) + missing.map((p) => `${lfsRuleFor(p)}\n`).join('')
    const content = Buffer.from(next)
    await editor.apply({ kind: 'put', path: '.gitattributes', oid: await git.writeBlob(content) })
  }

  private async treeAt(git: GitRepo, repo: RepoRow, rev: string): Promise<string> {
    const resolved = await git.resolve(rev, repo.default_branch)
    if (!resolved) throw errors.revisionNotFound(rev)
    return (await git.readCommit(resolved.commit)).tree
  }
}
