import fsp from 'node:fs/promises'
import path from 'node:path'
import type { GitCli } from './git-cli.js'

export interface PackStats {
  /** Loose objects (what isomorphic-git's API commits leave behind). */
  loose: number
  /** Live packs: superseded ones waiting out their grace period are not counted. */
  packs: number
}

/**
 * Where a full pass marks the packs it superseded: one empty file per pack (`pack-<sha>`), whose
 * mtime is when it was superseded. On disk rather than in memory, so any hubd process sharing the
 * data dir sees the grace period. Outside `objects/pack`, where git would call it garbage.
 */
const SUPERSEDED = 'hubd-superseded'

/** How long a superseded pack stays readable, for readers that listed it before the full pass. */
export const PACK_GRACE_MS = 10 * 60_000

/** Files git may keep beside a pack, deleted with it; `.idx` goes first so no new reader lists it. */
const PACK_FILES = ['.idx', '.pack', '.bitmap', '.rev', '.mtimes', '.promisor']

function packDir(gitdir: string): string {
  return path.join(gitdir, 'objects', 'pack')
}

async function superseded(gitdir: string): Promise<Set<string>> {
  return new Set(await fsp.readdir(path.join(gitdir, SUPERSEDED)).catch(() => [] as string[]))
}

/** Pack base names (`pack-<sha>`) with both `.pack` and `.idx`; `kept` ones carry a `.keep`. */
async function listPacks(gitdir: string): Promise<{ live: string[]; kept: Set<string> }> {
  const names = new Set(await fsp.readdir(packDir(gitdir)).catch(() => [] as string[]))
  const gone = await superseded(gitdir)
  const live: string[] = []
  const kept = new Set<string>()
  for (const n of names) {
    if (!n.endsWith('.pack')) continue
    const base = n.slice(0, -'.pack'.length)
    if (names.has(`${base}.keep`)) kept.add(base)
    if (names.has(`${base}.idx`) && !gone.has(base)) live.push(base)
  }
  return { live, kept }
}

/** Counts loose objects and live packs by listing `objects/`, without running git. */
export async function packStats(gitdir: string): Promise<PackStats> {
  const objects = path.join(gitdir, 'objects')
  let loose = 0
  for (const dir of await fsp.readdir(objects).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue
    const names = await fsp.readdir(path.join(objects, dir)).catch(() => [] as string[])
    loose += names.filter((n) => /^[0-9a-f]{38}$/.test(n)).length
  }
  const gone = await superseded(gitdir)
  const packs = (await fsp.readdir(packDir(gitdir)).catch(() => [] as string[])).filter(
    (n) => n.endsWith('.pack') && !gone.has(n.slice(0, -'.pack'.length)),
  ).length
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
 * Packs a repository while clones, pushes, API commits and reads go on. Neither kind deletes a pack.
 *
 * - `incremental` (`git repack -d`) packs the reachable loose objects into one new pack and then
 *   removes only loose objects now inside a pack. Unreachable loose objects stay. isomorphic-git
 *   looks for a loose object first and lists the packs afresh when it is gone; the new pack is
 *   complete before any loose object goes.
 * - `full` writes one pack of everything (what `git repack -a -d -k` runs: reachable objects plus
 *   every object of the existing packs and every loose one, since a push between "objects moved
 *   in" and "ref moved", or an API commit between "objects written" and "ref moved", holds objects
 *   nothing references yet), drops the loose objects it now holds, and marks the packs it folded
 *   as superseded. @NOTE: `git repack -a -d` would delete them at once, under the feet of an
 *   isomorphic-git reader (which takes no lock) that has just listed them: the read then fails.
 *   `deleteSuperseded` removes them once their grace period is over. Both git and isomorphic-git
 *   read an object found in two packs from either.
 *
 * Refs are never packed here: heads stay loose, so every update is a single-file rename.
 */
export async function repack(cli: GitCli, gitdir: string, kind: RepackKind): Promise<void> {
  const base = ['--git-dir', gitdir, '-c', 'gc.auto=0']
  if (kind === 'incremental') {
    await cli.run([...base, 'repack', '-q', '-d'])
    return
  }
  const before = await listPacks(gitdir)
  const out = await cli.run([
    ...base,
    'pack-objects', '--quiet', '--delta-base-offset', path.join(packDir(gitdir), 'pack'),
    '--keep-true-parents', '--honor-pack-keep', '--non-empty', '--all', '--reflog', '--indexed-objects',
    '--write-bitmap-index-quiet', '--keep-unreachable', '--pack-loose-unreachable',
  ])
  const sha = out.toString('utf8').trim()
  if (!/^[0-9a-f]{40,64}$/.test(sha)) return // --non-empty: nothing to pack
  const fresh = `pack-${sha}`
  const marks = path.join(gitdir, SUPERSEDED)
  // The same objects can give the same pack name again: that pack is live, not superseded.
  await fsp.rm(path.join(marks, fresh), { force: true })
  await cli.run([...base, 'prune-packed', '-q'])
  await fsp.mkdir(marks, { recursive: true })
  for (const old of before.live) {
    if (old === fresh || before.kept.has(old)) continue
    await fsp.writeFile(path.join(marks, old), '', { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err
    })
    // Only git reads bitmaps, and it warns about (and ignores) all but one.
    await fsp.rm(path.join(packDir(gitdir), `${old}.bitmap`), { force: true })
  }
}

/** Object ids (20-byte names, sorted) in a version-2 pack index; null if it is not one. */
async function idxNames(file: string): Promise<Buffer | null> {
  const idx = await fsp.readFile(file).catch(() => null)
  if (!idx || idx.length < 8 + 1024 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) return null
  const count = idx.readUInt32BE(8 + 255 * 4)
  return idx.subarray(8 + 1024, 8 + 1024 + count * 20)
}

function sortedHas(names: Buffer, oid: Buffer): boolean {
  let lo = 0
  let hi = names.length / 20 - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const c = names.compare(oid, 0, 20, mid * 20, mid * 20 + 20)
    if (c === 0) return true
    if (c < 0) lo = mid + 1
    else hi = mid - 1
  }
  return false
}

/**
 * Deletes the packs superseded longer than `graceMs` ago, once every object in them is found in a
 * live pack. One that is not (a pack whose objects a full pass could not take, e.g. one a push was
 * still holding with a `.keep`) becomes live again, for the next full pass to fold. Returns how
 * many packs were deleted.
 */
export async function deleteSuperseded(gitdir: string, graceMs = PACK_GRACE_MS, now = Date.now()): Promise<number> {
  const marks = path.join(gitdir, SUPERSEDED)
  const due: string[] = []
  for (const name of await superseded(gitdir)) {
    const st = await fsp.stat(path.join(marks, name)).catch(() => null)
    if (st && now - st.mtimeMs >= graceMs) due.push(name)
  }
  if (due.length === 0) return 0
  const { live } = await listPacks(gitdir)
  const liveNames = (await Promise.all(live.map((p) => idxNames(path.join(packDir(gitdir), `${p}.idx`))))).filter(
    (b): b is Buffer => b !== null,
  )
  let deleted = 0
  for (const old of due) {
    const idx = path.join(packDir(gitdir), `${old}.idx`)
    const names = await idxNames(idx)
    // No index at all: another process is deleting it, finish the job.
    let covered = names !== null || !(await fsp.stat(idx).catch(() => null))
    for (let i = 0; covered && names && i < names.length; i += 20) {
      const oid = names.subarray(i, i + 20)
      covered = liveNames.some((l) => sortedHas(l, oid))
    }
    if (covered) {
      for (const ext of PACK_FILES) await fsp.rm(path.join(packDir(gitdir), `${old}${ext}`), { force: true })
      deleted++
    }
    await fsp.rm(path.join(marks, old), { force: true })
  }
  return deleted
}
