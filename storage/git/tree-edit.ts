import { entryNameProblem, NfcNames, nfcTwinProblem } from './entry-names.js'
import type { GitRepo, TreeEntry } from './git-repo.js'

export type TreeOp =
  | { kind: 'put'; path: string; oid: string; mode?: string }
  /** Deletes a file, or a folder with everything below it. `mustExist` makes a missing path an error. */
  | { kind: 'delete'; path: string; mustExist: boolean }

export class TreeEditError extends Error {
  override name = 'TreeEditError'
  constructor(
    message: string,
    /** `name`: a new name no checkout could hold (entry-names.ts). */
    readonly kind: 'missing' | 'conflict' | 'name',
    readonly path: string,
  ) {
    super(message)
  }
}

interface Dir {
  entries: Map<string, TreeEntry>
  /** Subfolders loaded (and possibly changed) during this edit. */
  loaded: Map<string, Dir>
  /** The names by NFC form, built on the first new name. */
  nfc?: NfcNames
}

/**
 * Applies file puts and deletions, in order, to a tree and writes the changed trees bottom-up.
 * Only the folders on changed paths are read; everything else is shared with the base tree.
 * A new file or folder name must be one every checkout can hold (entry-names.ts): it is compared
 * with its siblings only, in the folder already read for the edit.
 */
export class TreeEditor {
  private root: Dir | null = null

  constructor(
    private readonly repo: GitRepo,
    private readonly baseTree: string | null,
  ) {}

  private async load(oid: string | null): Promise<Dir> {
    const entries = new Map<string, TreeEntry>()
    if (oid) for (const e of await this.repo.readTree(oid)) entries.set(e.path, e)
    return { entries, loaded: new Map() }
  }

  private async rootDir(): Promise<Dir> {
    this.root ??= await this.load(this.baseTree)
    return this.root
  }

  /** The folder holding `segments`' last element; creates folders when `create`. Null if absent. */
  private async parentOf(segments: string[], create: boolean, fullPath: string): Promise<Dir | null> {
    let dir = await this.rootDir()
    for (let i = 0; i < segments.length - 1; i++) {
      const name = segments[i]!
      let child = dir.loaded.get(name)
      if (!child) {
        const entry = dir.entries.get(name)
        if (entry && entry.type !== 'tree') {
          if (!create) return null
          throw new TreeEditError(`Cannot write ${fullPath}: ${name} is a file`, 'conflict', fullPath)
        }
        if (!entry && !create) return null
        if (!entry) this.checkNewName(dir, name, segments.slice(0, i + 1).join('/'))
        child = await this.load(entry?.oid ?? null)
        dir.loaded.set(name, child)
        if (!entry) dir.entries.set(name, { mode: '040000', path: name, oid: '', type: 'tree' })
      }
      dir = child
    }
    return dir
  }

  /** Refuses a name no checkout could hold next to its siblings in `dir`. */
  private checkNewName(dir: Dir, name: string, path: string): void {
    const problem = entryNameProblem(path, name)
    if (problem) throw new TreeEditError(problem, 'name', path)
    dir.nfc ??= new NfcNames(dir.entries.keys())
    const twin = dir.nfc.twinOf(name, (n) => dir.entries.has(n))
    if (twin !== null) throw new TreeEditError(nfcTwinProblem(path, path.slice(0, path.length - name.length) + twin), 'name', path)
    dir.nfc.add(name)
  }

  async apply(op: TreeOp): Promise<void> {
    const segments = op.path.split('/')
    const name = segments[segments.length - 1]!
    if (op.kind === 'put') {
      const dir = (await this.parentOf(segments, true, op.path))!
      const existing = dir.entries.get(name)
      if (existing?.type === 'tree') {
        throw new TreeEditError(`Cannot write ${op.path}: it is a folder`, 'conflict', op.path)
      }
      if (!existing) this.checkNewName(dir, name, op.path)
      dir.entries.set(name, { mode: op.mode ?? '100644', path: name, oid: op.oid, type: 'blob' })
      return
    }
    const dir = await this.parentOf(segments, false, op.path)
    if (!dir?.entries.has(name)) {
      if (op.mustExist) throw new TreeEditError(`A file with this name doesn't exist: ${op.path}`, 'missing', op.path)
      return
    }
    dir.entries.delete(name)
    dir.loaded.delete(name)
  }

  /** Writes every changed folder; returns the new root tree id. Empty folders disappear, as in git. */
  async write(): Promise<string> {
    const root = await this.rootDir()
    return (await this.writeDir(root)) ?? (await this.repo.writeTree([]))
  }

  private async writeDir(dir: Dir): Promise<string | null> {
    for (const [name, child] of dir.loaded) {
      const oid = await this.writeDir(child)
      if (oid) dir.entries.set(name, { mode: '040000', path: name, oid, type: 'tree' })
      else dir.entries.delete(name)
    }
    if (dir.entries.size === 0) return null
    return this.repo.writeTree([...dir.entries.values()])
  }
}
