import type { Sha256Blobs } from '../../storage/blobs/blob-store.js'
import type { LfsTable } from '../../storage/db/lfs-table.js'
import type { RepoRow } from '../../storage/db/repos-table.js'
import { MAX_POINTER_SIZE, parsePointer } from '../../storage/formats/lfs-pointer.js'
import type { GitCli } from '../../storage/git/git-cli.js'
import { ZERO_OID } from '../../storage/git/ref-cas.js'
import { entryNameProblem, NfcNames, nfcTwinProblem } from '../../storage/git/entry-names.js'
import type { RefUpdate } from '../protocol/pkt-line.js'
import { refChangeProblem } from '../protocol/ref-rules.js'

/** A pointer in the pushed commits whose object this repository does not have. */
export interface MissingObject {
  oid: string
  size: number
  path: string
}

/** An object the push brings that no existing ref reaches, with the first path it was found at. */
interface NewObject {
  oid: string
  type: string
  size: number
  path: string
}

/** At most this many refusals of names are listed; the count of the rest follows. */
const MAX_LISTED = 20

/**
 * What a push must pass before any ref moves (run from the pre-receive hook, while the pushed
 * objects are still in git's quarantine): the ref rules the API keeps (protocol/ref-rules.ts), new
 * file and folder names every checkout can hold (storage/git/entry-names.ts, as in API commits),
 * and every LFS pointer among the new blobs names an object stored and linked to this
 * repository, with that size (docs/hub-api.md §5.10: a guessed oid must not reach another repo's file).
 */
export class PushCheck {
  constructor(
    private readonly cli: GitCli,
    private readonly lfs: LfsTable,
    private readonly blobs: Sha256Blobs,
  ) {}

  /** Reasons to refuse the push, one line each; empty when it may go ahead. */
  async problems(repo: RepoRow, gitdir: string, updates: RefUpdate[], env: Record<string, string>): Promise<string[]> {
    const problems: string[] = []
    for (const u of updates) {
      const change = { ref: u.ref, old: u.old === ZERO_OID ? null : u.old, next: u.new === ZERO_OID ? null : u.new }
      const broken = refChangeProblem(change, repo.default_branch)
      if (broken) problems.push(broken.message)
    }
    if (problems.length) return problems
    const objects = await this.newObjects(gitdir, updates, env)
    const names = await this.nameProblems(gitdir, objects, env)
    if (names.length) {
      const more = names.length > MAX_LISTED ? [`…and ${names.length - MAX_LISTED} more`] : []
      return ['push adds names that cannot be checked out everywhere; rename them and push again:', ...names.slice(0, MAX_LISTED), ...more]
    }
    const missing = await this.missingLfsObjects(repo, gitdir, objects, env)
    if (missing.length === 0) return []
    return [
      `push references ${missing.length} LFS object(s) this repository does not have:`,
      ...missing.map((m) => `  ${m.oid} (${m.size} bytes) ${m.path}`),
      'Upload them with git-lfs first (`git lfs push --all origin <branch>`, or push without GIT_LFS_SKIP_PUSH), then push again.',
    ]
  }

  /** Commits, trees and small blobs that the new tips reach and no existing ref does. */
  private async newObjects(gitdir: string, updates: RefUpdate[], env: Record<string, string>): Promise<NewObject[]> {
    const tips = [...new Set(updates.map((u) => u.new).filter((oid) => oid !== ZERO_OID))]
    if (tips.length === 0) return []
    const git = ['--git-dir', gitdir]
    // Blobs larger than a pointer can be are filtered out by git itself.
    const listed = await this.cli.run([...git, 'rev-list', '--objects', `--filter=blob:limit=${MAX_POINTER_SIZE + 1}`, ...tips, '--not', '--all'], { env })
    const paths = new Map<string, string>()
    for (const line of listed.toString('utf8').split('\n')) {
      if (line.length < 40) continue
      const oid = line.slice(0, 40)
      if (!paths.has(oid)) paths.set(oid, line.slice(41))
    }
    if (paths.size === 0) return []
    const checked = await this.cli.run([...git, 'cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'], {
      env,
      input: [...paths.keys()].join('\n') + '\n',
    })
    const objects: NewObject[] = []
    for (const line of checked.toString('utf8').split('\n')) {
      const [oid, type, size] = line.split(' ')
      if (oid && type && size !== undefined) objects.push({ oid, type, size: Number(size), path: paths.get(oid) ?? '' })
    }
    return objects
  }

  /**
   * File and folder names in the new trees that a checkout cannot hold: too long, or equal in NFC
   * to a sibling's. Only trees the push brings are read; each is compared within itself.
   */
  private async nameProblems(gitdir: string, objects: NewObject[], env: Record<string, string>): Promise<string[]> {
    const trees = objects.filter((o) => o.type === 'tree')
    if (trees.length === 0) return []
    const paths = new Map(trees.map((o) => [o.oid, o.path]))
    const contents = await this.cli.run(['--git-dir', gitdir, 'cat-file', '--batch'], { env, input: trees.map((o) => o.oid).join('\n') + '\n' })
    const problems: string[] = []
    for (const { oid, content } of batchObjects(contents)) {
      const folder = paths.get(oid) ?? ''
      const full = (name: string) => (folder ? `${folder}/${name}` : name)
      const names = treeNames(content)
      for (const name of names) {
        const problem = entryNameProblem(full(name), name)
        if (problem) problems.push(problem)
      }
      for (const [first, ...others] of NfcNames.twins(names)) {
        for (const other of others) problems.push(nfcTwinProblem(full(other), full(first!)))
      }
    }
    return problems
  }

  /** LFS pointers among the new blobs whose object this repository does not have. */
  private async missingLfsObjects(repo: RepoRow, gitdir: string, objects: NewObject[], env: Record<string, string>): Promise<MissingObject[]> {
    // The shortest canonical pointer (`size 0`) is over 120 bytes.
    const candidates = objects.filter((o) => o.type === 'blob' && o.size >= 100 && o.size <= MAX_POINTER_SIZE)
    if (candidates.length === 0) return []
    const paths = new Map(candidates.map((o) => [o.oid, o.path]))
    const contents = await this.cli.run(['--git-dir', gitdir, 'cat-file', '--batch'], { env, input: candidates.map((o) => o.oid).join('\n') + '\n' })
    const missing: MissingObject[] = []
    for (const { oid, content } of batchObjects(contents)) {
      const pointer = parsePointer(content)
      if (!pointer) continue
      const linked = this.lfs.linkedSize(repo.id, pointer.oid)
      const stored = linked === pointer.size ? await this.blobs.stat(pointer.oid) : null
      if (stored?.size !== pointer.size) missing.push({ oid: pointer.oid, size: pointer.size, path: paths.get(oid) ?? '' })
    }
    return missing
  }
}

/** The entry names of a raw git tree object (`<mode> <name>\0<20-byte id>`, repeated). */
function treeNames(tree: Buffer): string[] {
  const names: string[] = []
  let at = 0
  while (at < tree.length) {
    const space = tree.indexOf(0x20, at)
    const nul = tree.indexOf(0, space)
    if (space < 0 || nul < 0) break
    names.push(tree.subarray(space + 1, nul).toString('utf8'))
    at = nul + 21
  }
  return names
}

/** Splits `git cat-file --batch` output (`<oid> <type> <size>\n<content>\n`, repeated). */
function* batchObjects(out: Buffer): Generator<{ oid: string; content: Buffer }> {
  let at = 0
  while (at < out.length) {
    const eol = out.indexOf(0x0a, at)
    if (eol < 0) return
    const [oid, type, size] = out.subarray(at, eol).toString('utf8').split(' ')
    if (type === 'missing' || size === undefined) {
      at = eol + 1
      continue
    }
    const end = eol + 1 + Number(size)
    yield { oid: oid!, content: out.subarray(eol + 1, end) }
    at = end + 1
  }
}
