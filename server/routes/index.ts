import type { FastifyInstance } from 'fastify'
import type { Context } from '../context.js'
import { whoamiRoute } from './api/whoami.js'
import { reposCreateRoute } from './api/repos-create.js'
import { reposDeleteRoute } from './api/repos-delete.js'
import { repoInfoRoute } from './api/repo-info.js'
import { validateYamlRoute } from './api/validate-yaml.js'
import { preuploadRoute } from './api/preupload.js'
import { commitRoute } from './api/commit.js'
import { treeRoute } from './api/tree.js'
import { pathsInfoRoute } from './api/paths-info.js'
import { xetTokenRoute } from './api/xet-token.js'
import { telemetryRoute } from './api/telemetry.js'
import { resolveRoute } from './resolve.js'
import { lfsBatchRoute } from './lfs/batch.js'
import { lfsUploadRoute } from './lfs/upload.js'
import { lfsMultipartRoute } from './lfs/multipart.js'
import { lfsVerifyRoute } from './lfs/verify.js'

export type RouteModule = (app: FastifyInstance, ctx: Context) => void | Promise<void>

/** Every endpoint, one module each; the module's name is the endpoint it serves. */
export async function registerRoutes(app: FastifyInstance, ctx: Context): Promise<void> {
  const modules: RouteModule[] = [
    whoamiRoute,
    reposCreateRoute,
    reposDeleteRoute,
    repoInfoRoute,
    validateYamlRoute,
    preuploadRoute,
    commitRoute,
    treeRoute,
    pathsInfoRoute,
    xetTokenRoute,
    telemetryRoute,
    resolveRoute,
    lfsBatchRoute,
    lfsUploadRoute,
    lfsMultipartRoute,
    lfsVerifyRoute,
  ]
  for (const register of modules) {
    // Each in its own encapsulated scope, so a route's body parsers stay its own.
    await app.register(async (scope) => register(scope, ctx))
  }
}
