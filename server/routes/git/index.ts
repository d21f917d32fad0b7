import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { gitHooksRoute } from './hooks.js'
import { gitInfoRefsRoute } from './info-refs.js'
import { gitReceivePackRoute, gitUploadPackRoute } from './service-post.js'

/**
 * git over HTTP: the smart-HTTP endpoints and the hook callback. Also ties the git side's
 * background work to the app's life: logging, and maintenance finishing before close.
 */
export async function gitRoutes(app: FastifyInstance, ctx: Context) {
  ctx.git.log = app.log.child({ subsystem: 'git' })
  ctx.maintenance.log = app.log.child({ subsystem: 'maintenance' })
  app.addHook('onClose', async () => ctx.maintenance.close())
  for (const register of [gitInfoRefsRoute, gitUploadPackRoute, gitReceivePackRoute, gitHooksRoute]) {
    await app.register(async (scope) => register(scope, ctx))
  }
}
