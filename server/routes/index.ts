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
import { lfsDownloadRoute } from './lfs/download.js'
import { lfsLocksRoute } from './lfs/locks.js'
import { gitRoutes } from './git/index.js'
import { refsRoute } from './api/refs.js'
import { branchRoute } from './api/branch.js'
import { tagRoute } from './api/tag.js'
import { commitsRoute } from './api/commits.js'
import { superSquashRoute } from './api/super-squash.js'
import { discussionsRoute } from './api/discussions.js'
import { discussionEditsRoute } from './api/discussion-edits.js'
import { reposMoveRoute } from './api/repos-move.js'
import { settingsRoute } from './api/settings.js'
import { listReposRoute } from './api/list-repos.js'
import { xetCasRoutes } from './xet/index.js'
import { adminAccountsRoute } from './admin/accounts.js'
import { adminMembersRoute } from './admin/members.js'
import { adminTokensRoute } from './admin/tokens.js'
import { adminReposRoute } from './admin/repos.js'

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
    lfsDownloadRoute,
    lfsLocksRoute,
    gitRoutes,
    refsRoute,
    branchRoute,
    tagRoute,
    commitsRoute,
    superSquashRoute,
    discussionsRoute,
    discussionEditsRoute,
    reposMoveRoute,
    settingsRoute,
    listReposRoute,
    xetCasRoutes,
    adminAccountsRoute,
    adminMembersRoute,
    adminTokensRoute,
    adminReposRoute,
  ]
  for (const register of modules) {
    // Each in its own encapsulated scope, so a route's body parsers stay its own.
    await app.register(async (scope) => register(scope, ctx))
  }
}
