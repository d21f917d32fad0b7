import type { Sha256Blobs } from '../../storage/blobs/blob-store.js'
import type { LfsTable } from '../../storage/db/lfs-table.js'
import type { RepoRow } from '../../storage/db/repos-table.js'
import { MAX_POINTER_SIZE, parsePointer } from '../../storage/formats/lfs-pointer.js'
import type { GitCli } from '../../storage/git/git-cli.js'
import { ZERO_OID } from '../../storage/git/ref-cas.js'
import type { RefUpdate } from '../protocol/pkt-line.js'

/** A pointer in the pushed commits whose object this repository does not have. */
export interface MissingObject {
  oid: string
  size: number
  path: string
}

/**
 * What a push must pass before any ref moves (run from the pre-receive hook, while the pushed
 * objects are still in git's quarantine): only branches and tags, never deleting the default
 * branch, and every LFS pointer among the new blobs names an object stored and linked to this
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
      if (!/^refs\/(heads|tags)\/./.test(u.ref)) {
        problems.push(`${u.ref}: only branches (refs/heads/…) and tags (refs/tags/…) can be pushed`)
      } else if (u.new === ZERO_OID && u.ref === `refs/heads/${repo.default_branch}`) {
        problems.push(`${u.ref}: refusing to delete the default branch`)
      }
    }
    if (problems.length) return problems
    const missing = await this.missingLfsObjects(repo, gitdir, updates, env)
    if (missing.length === 0) return []
    return [
      `push references ${missing.length} LFS object(s) this repository does not have:`,
      ...missing.map((m) => `  ${m.oid} (${m.size} bytes) ${m.path}`),
      'Upload them with git-lfs first (`git lfs push --all origin <branch>`, or push without GIT_LFS_SKIP_PUSH), then push again.',
    ]
  }

  /** LFS pointers in blobs that the new tips reach and no existing ref does. */
  async missingLfsObjects(repo: RepoRow, gitdir: string, updates: RefUpdate[], env: Record<string, string>): Promise<MissingObject[]> {
    const tips = [...new Set(updates.map((u) => u.new).filter((oid) => oid !== ZERO_OID))]
    if (tips.length === 0) return []
    const git = ['--git-dir', gitdir]
    // Blobs larger than a pointer can be are filtered out by git itself.
    const listed = await this.cli.run([...git, 'rev-list', '--objects', `--filter=blob:limit=${MAX_POINTER_SIZE + 1}`, ...tips, '--not', '--all'], { env })
    const names = new Map<string, string>()
    for (const line of listed.toString('utf8').split('\n')) {
      if (line.length < 40) continue
      const oid = line.slice(0, 40)
      if (!names.has(oid)) names.set(oid, line.slice(41))
    }
    if (names.size === 0) return []
    const checked = await this.cli.run([...git, 'cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'], {
      env,
      input: [...names.keys()].join('\n') + '\n',
    })
    const candidates: string[] = []
    for (const line of checked.toString('utf8').split('\n')) {
      const [oid, type, size] = line.split(' ')
      // The shortest canonical pointer (`size 0`) is over 120 bytes.
      if (type === 'blob' && Number(size) >= 100 && Number(size) <= MAX_POINTER_SIZE) candidates.push(oid!)
    }
    if (candidates.length === 0) return []
    const contents = await this.cli.run([...git, 'cat-file', '--batch'], { env, input: candidates.join('\n') + '\n' })
    const missing: MissingObject[] = []
    for (const { oid, content } of batchObjects(contents)) {
      const pointer = parsePointer(content)
      if (!pointer) continue
      const linked = this.lfs.linkedSize(repo.id, pointer.oid)
      const stored = linked === pointer.size ? await this.blobs.stat(pointer.oid) : null
      if (stored?.size !== pointer.size) missing.push({ oid: pointer.oid, size: pointer.size, path: names.get(oid) ?? '' })
    }
    return missing
  }
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
