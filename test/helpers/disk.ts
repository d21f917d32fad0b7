/** Disk use of folders and file systems, for tests that check what a write left behind. Not a test file. */
import fs from 'node:fs'
import path from 'node:path'

/** Bytes allocated on disk to everything under `dir` (what `du` counts); 0 when it is missing. */
export function diskUsage(dir: string): number {
  let total = 0
  let entries: fs.Dirent[]
  try {
    total += fs.lstatSync(dir).blocks * 512
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const e of entries) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) total += diskUsage(p)
    else total += (fs.lstatSync(p, { throwIfNoEntry: false })?.blocks ?? 0) * 512
  }
  return total
}

/** Bytes still free for unprivileged writers on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const st = fs.statfsSync(dir)
  return st.bavail * st.bsize
}
