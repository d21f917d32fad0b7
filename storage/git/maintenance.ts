import fsp from 'node:fs/promises'
import path from 'node:path'
import type { GitCli } from './git-cli.js'

export interface PackStats {
  /** Loose objects (what isomorphic-git's API commits leave behind). */
  loose: number
  packs: number
}

/** Counts loose objects and packs by listing `objects/`, without running git. */
export async function packStats(gitdir: string): Promise<PackStats> {
  const objects = path.join(gitdir, 'objects')
  let loose = 0
  for (const dir of await fsp.readdir(objects).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue
    const names = await fsp.readdir(path.join(objects, dir)).catch(() => [] as string[])
    loose += names.filter((n) => /^[0-9a-f]{38}$/.test(n)).length
  }
  const packs = (await fsp.readdir(path.join(objects, 'pack')).catch(() => [] as string[])).filter((n) => n.endsWith('.pack')).length
  return { loose, packs }
}

/** Above this many packs, maintenance folds them all into one. */
export const MAX_PACKS = 8

export type RepackKind = 'incremental' | 'full'

/** What maintenance should do now: nothing, pack the loose objects, or fold everything into one pack. */
export async function repackNeeded(gitdir: string): Promise<RepackKind | null> {
  const { loose, packs } = await packStats(gitdir)
  if (loose === 0 && packs <= MAX_PACKS) return null
  // With no pack yet, folding everything costs the same and also writes a reachability bitmap.
  return packs === 0 || packs + 1 > MAX_PACKS ? 'full' : 'incremental'
}

/**
 * Packs a repository while clones, pushes and API commits go on.
 *
 * - `incremental` (`git repack -d`) packs the reachable loose objects into one new pack and then
 *   removes only loose objects now inside a pack. No pack is deleted and unreachable loose objects
 *   stay, so it is safe against every reader and writer: isomorphic-git looks for a loose object
 *   first and lists the packs afresh when it is gone; the new pack is complete before any loose
 *   object goes.
 * - `full` (`git repack -a -d -k`) folds everything into one pack and deletes the old packs.
 *   `-k` keeps unreachable objects: a push between "objects moved in" and "ref moved", or an API
 *   commit between "objects written" and "ref moved", holds objects nothing references yet. The
 *   caller must hold the repository's writer lock and then drop its isomorphic-git cache, which
 *   may have indexed a deleted pack.
 *
 * Refs are never packed here: heads stay loose, so every update is a single-file rename.
 */
export async function repack(cli: GitCli, gitdir: string, kind: RepackKind): Promise<void> {
  const base = ['--git-dir', gitdir, '-c', 'gc.auto=0', 'repack', '-q']
  await cli.run(kind === 'full' ? [...base, '-a', '-d', '-k'] : [...base, '-d'])
}
