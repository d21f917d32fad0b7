import { newId } from '../../storage/db/ids.js'
import { RepoExistsError, type ReposTable, type RepoRow, type RepoType } from '../../storage/db/repos-table.js'
import type { UsersTable } from '../../storage/db/users-table.js'
import { DEFAULT_GITATTRIBUTES } from '../../storage/formats/gitattributes.js'
import type { RepoStore } from '../../storage/git/repo-store.js'
import { authorize, can, canCreateIn, checkCaller, requireUser, type Action, type Actor } from '../auth/access.js'
import { errors, RepoMovedError } from '../errors.js'
import { RESERVED_NAMESPACES, repoPartProblem, URL_PREFIX, type RepoId } from '../protocol/repo-id.js'
import { TreeEditor } from '../../storage/git/tree-edit.js'
import { authorOf } from '../protocol/identity.js'
import type { RepoIndexer } from './repo-indexer.js'

export interface CreateRepoInput {
  type: RepoType
  namespace: string
  name: string
  private: boolean
  sdk: string | null
  files: { path: string; content: Buffer }[]
}

/** Finds repositories with an access check, creates and deletes them. */
export class RepoService {
  constructor(
    private readonly repos: ReposTable,
    private readonly users: UsersTable,
    private readonly store: RepoStore,
    private readonly indexer: RepoIndexer,
    private readonly publicUrl: () => string,
  ) {}

  /**
   * The repo `id` names, if this server has it. Every lookup of a repo a request names goes
   * through here, so that a pull-through mirror can answer a miss with a promise and go upstream.
   * What is stored answers at once: the hot path (resolve, repo info) pays no promise and no tick.
   */
  find(id: RepoId): RepoRow | undefined | Promise<RepoRow | undefined> {
    return this.repos.find(id.type, id.namespace, id.name)
  }

  /**
   * The repo if `actor` may do `action` on it; otherwise the Hub's error (RepoNotFound for
   * unreadable, a RepoMovedError for the old id of a repo the caller can see). At once, or a
   * promise when `find` answers with one: `await` it either way.
   */
  get(type: RepoType, namespace: string, name: string, actor: Actor, action: Action): RepoRow | Promise<RepoRow> {
    const id = { type, namespace, name }
    const found = this.find(id)
    if (found instanceof Promise) return found.then((repo) => this.allowed(repo, id, actor, action))
    return this.allowed(found, id, actor, action)
  }

  /** What `get` answers once `find` has: the repo, or why not. */
  private allowed(repo: RepoRow | undefined, { type, namespace, name }: RepoId, actor: Actor, action: Action): RepoRow {
    if (!repo) {
      checkCaller(actor)
      const moved = this.movedTo(type, namespace, name, actor)
      if (moved) throw new RepoMovedError({ namespace, name }, { namespace: moved.namespace, name: moved.name })
      throw errors.repoNotFound()
    }
    authorize(actor, action, repo)
    return repo
  }

  byId(id: string): RepoRow | undefined {
    return this.repos.findById(id)
  }

  url(repo: Pick<RepoRow, 'type' | 'namespace' | 'name'>): string {
    return `${this.publicUrl()}/${URL_PREFIX[repo.type]}${repo.namespace}/${repo.name}`
  }

  /** Creates the repository with its initial commit on main (docs/hub-api.md §3.1: clients assume main exists). */
  async create(actor: Actor, input: CreateRepoInput): Promise<RepoRow> {
    const user = requireUser(actor)
    for (const [part, what] of [
      [input.namespace, 'namespace'],
      [input.name, 'repository name'],
    ] as const) {
      const problem = repoPartProblem(part, what)
      if (problem) throw errors.unprocessable(`Invalid repo id "${input.namespace}/${input.name}": ${problem}`)
    }
    if (RESERVED_NAMESPACES.has(input.namespace.toLowerCase())) {
      throw errors.unprocessable(`"${input.namespace}" is a reserved name and cannot be a namespace`)
    }
    if (!canCreateIn(actor, input.namespace)) {
      throw errors.forbidden(`You don't have the rights to create a repository under the namespace "${input.namespace}"`)
    }
    const existing = this.repos.find(input.type, input.namespace, input.name)
    if (existing) return this.conflict(existing)
    const owner = this.users.findByName(input.namespace)
    // Canonical casing of an existing namespace wins over what the caller typed.
    const namespace = owner?.name ?? input.namespace
    const id = newId()
    await this.store.create(id, 'main', async (git) => {
      const editor = new TreeEditor(git, null)
      const files = new Map<string, Buffer>([['.gitattributes', Buffer.from(DEFAULT_GITATTRIBUTES)]])
      for (const f of input.files) files.set(f.path, f.content)
      for (const [path, content] of files) await editor.apply({ kind: 'put', path, oid: await git.writeBlob(content) })
      const commit = await git.writeCommit({
        tree: await editor.write(),
        parents: [],
        message: 'initial commit',
        author: authorOf(user.name, this.publicUrl()),
      })
      await git.setRef('refs/heads/main', null, commit)
    })
    let row: RepoRow
    try {
      row = this.repos.create({ id, type: input.type, namespace, name: input.name, private: input.private, sdk: input.sdk })
    } catch (err) {
      await this.store.remove(id)
      if (err instanceof RepoExistsError) return this.conflict(this.repos.find(input.type, input.namespace, input.name)!)
      throw err
    }
    return this.indexer.refresh(row)
  }

  private conflict(existing: RepoRow): never {
    const kind = existing.type === 'model' ? 'model' : existing.type
    throw errors.conflict(`You already created this ${kind} repo`, { url: this.url(existing) })
  }

  /** Renames or transfers a repo; the old id redirects (docs/hub-api.md §3.3, §7.5). Git data stays where it is. */
  async move(actor: Actor, repo: RepoRow, namespace: string, name: string): Promise<void> {
    requireUser(actor)
    for (const [part, what] of [
      [namespace, 'namespace'],
      [name, 'repository name'],
    ] as const) {
      const problem = repoPartProblem(part, what)
      if (problem) throw errors.unprocessable(`Invalid repo id "${namespace}/${name}": ${problem}`)
    }
    if (RESERVED_NAMESPACES.has(namespace.toLowerCase())) throw errors.unprocessable(`"${namespace}" is a reserved name`)
    if (!canCreateIn(actor, namespace)) {
      throw errors.forbidden(`You don't have the rights to move a repository to the namespace "${namespace}"`)
    }
    const kind = repo.type
    try {
      this.repos.move(repo, this.users.findByName(namespace)?.name ?? namespace, name)
    } catch (err) {
      if (err instanceof RepoExistsError) throw errors.conflict(`A ${kind} repository called ${namespace}/${name} already exists`)
      throw err
    }
  }

  /** Where an old id of a moved repo points now, if the caller may see it. */
  movedTo(type: RepoType, namespace: string, name: string, actor: Actor): RepoRow | null {
    const target = this.repos.redirect(type, namespace, name)
    return target && can(actor, 'read', target) ? target : null
  }

  updateSettings(repo: RepoRow, s: { private: boolean | undefined; gated: 'auto' | 'manual' | null | undefined }): void {
    if (s.private !== undefined) this.repos.setPrivate(repo.id, s.private)
    if (s.gated !== undefined) this.repos.setGated(repo.id, s.gated)
  }

  /** Deletes the row first (the repo vanishes at once), then its files. */
  async remove(repo: RepoRow): Promise<void> {
    this.repos.remove(repo.id)
    await this.store.remove(repo.id)
  }
}
