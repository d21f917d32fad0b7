import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'

/**
 * The fs client handed to isomorphic-git. Its loose-object writes go to a temp name and are
 * renamed into place, so a crash can never leave a truncated object that git would then trust
 * forever (isomorphic-git writes in place and never rewrites an existing object).
 */
export const atomicFs = {
  promises: {
    ...fsp,
    async writeFile(file: string, data: Uint8Array | string, options?: fs.WriteFileOptions): Promise<void> {
      const tmp = path.join(path.dirname(file), `.tmp-${randomBytes(6).toString('hex')}`)
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            await fsp.writeFile(tmp, data, options)
            break
          } catch (err) {
            // `git repack` (prune-packed) removes object folders it empties, possibly right after
            // isomorphic-git created one: recreate it and retry, as git itself does.
            // Only the fan-out folder: a repository deleted meanwhile must not be recreated.
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err
            await fsp.mkdir(path.dirname(file)).catch((e: NodeJS.ErrnoException) => {
              if (e.code !== 'EEXIST') throw err
            })
          }
        }
        await fsp.rename(tmp, file)
      } catch (err) {
        await fsp.rm(tmp, { force: true })
        throw err
      }
    },
  },
}
