import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { xetReadRoutes } from './read.js'
import { xetUploadRoutes } from './upload.js'

/** The CAS (`{publicUrl}/cas`, docs/xet-protocol.md §2), only with HUBD_XET on; each part in its own scope. */
export async function xetCasRoutes(app: FastifyInstance, ctx: Context) {
  if (!ctx.config.xet) return
  await app.register(async (scope) => xetUploadRoutes(scope, ctx))
  await app.register(async (scope) => xetReadRoutes(scope, ctx))
}
