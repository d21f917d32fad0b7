import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { HubError } from '../../errors.js'
import { FILE_PREFIXES } from '../repo-params.js'

/**
 * The git-lfs locking API (…/info/lfs/locks, …/locks/verify, …/locks/{id}/unlock): not offered.
 * A 404 is what git-lfs reads as "not implemented": it then sets `lfs.<url>.locksverify=false`
 * in the clone and pushes on without a warning. Answered before any access check, for every repo
 * alike, so it reveals nothing and costs git-lfs no credential round trip.
 */
export function lfsLocksRoute(app: FastifyInstance, _ctx: Context) {
  const notOffered = async () => {
    throw new HubError(404, 'File locking is not supported by this server')
  }
  for (const { prefix } of FILE_PREFIXES) {
    const base = `${prefix}/:ns/:name/info/lfs/locks`
    app.get(base, { config: { lfsErrors: true } }, notOffered)
    app.post(base, { config: { lfsErrors: true } }, notOffered)
    app.post(`${base}/verify`, { config: { lfsErrors: true } }, notOffered)
    app.post(`${base}/:id/unlock`, { config: { lfsErrors: true } }, notOffered)
  }
}
