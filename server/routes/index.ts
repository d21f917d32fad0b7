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

/**
 * Every endpoint, one module each; the module's name is the endpoint it serves. Beside each, the
 * URLs it answers, so an endpoint is found from its URL (docs/hub-api.md has the contracts).
 * `{types}` is models, datasets or spaces; `{repo}` is `{ns}/{name}`; `{files}` is a repo's page
 * URL, also its git remote: `{ns}/{name}`, `datasets/{ns}/{name}` or `spaces/{ns}/{name}`.
 */
export async function registerRoutes(app: FastifyInstance, ctx: Context): Promise<void> {
  const modules: RouteModule[] = [
    whoamiRoute, // GET /api/whoami-v2
    reposCreateRoute, // POST /api/repos/create
    reposDeleteRoute, // DELETE /api/repos/delete
    repoInfoRoute, // GET /api/{types}/{repo}, /api/{types}/{repo}/revision/{rev}
    validateYamlRoute, // POST /api/validate-yaml
    preuploadRoute, // POST /api/{types}/{repo}/preupload/{rev}
    commitRoute, // POST /api/{types}/{repo}/commit/{rev}
    treeRoute, // GET /api/{types}/{repo}/tree/{rev}[/{path}]
    pathsInfoRoute, // POST /api/{types}/{repo}/paths-info/{rev}
    xetTokenRoute, // GET /api/{types}/{repo}/xet-read-token/{rev}, /api/{types}/{repo}/xet-write-token/{rev}
    telemetryRoute, // GET, HEAD, POST /api/telemetry/…
    resolveRoute, // GET, HEAD /{files}/resolve/{rev}/{path}, /{files}/raw/{rev}/{path}
    lfsBatchRoute, // POST /{files}/info/lfs/objects/batch
    lfsUploadRoute, // PUT /api/lfs/upload/{oid}
    lfsMultipartRoute, // PUT /api/lfs/multipart/{id}/part/{n}, POST /api/lfs/multipart/{id}/complete
    lfsVerifyRoute, // POST /api/lfs/verify/{oid}
    lfsDownloadRoute, // GET, HEAD /api/lfs/download/{oid}
    lfsLocksRoute, // GET, POST /{files}/info/lfs/locks[/verify|/{id}/unlock] (404: not offered)
    // GET /{files}/info/refs; POST /{files}/git-upload-pack, /{files}/git-receive-pack;
    // POST /api/_internal/git-hooks/pre-receive (our own hook calling back)
    gitRoutes,
    refsRoute, // GET /api/{types}/{repo}/refs
    branchRoute, // POST, DELETE /api/{types}/{repo}/branch/{branch}
    tagRoute, // POST, DELETE /api/{types}/{repo}/tag/{rev} (DELETE …/tag/{tag})
    commitsRoute, // GET /api/{types}/{repo}/commits/{rev}
    superSquashRoute, // POST /api/{types}/{repo}/super-squash/{branch}
    // POST, GET /api/{types}/{repo}/discussions; GET …/discussions/{num};
    // POST …/discussions/{num}/comment, …/{num}/status, …/{num}/merge
    discussionsRoute,
    discussionEditsRoute, // POST /api/{types}/{repo}/discussions/{num}/title, …/{num}/comment/{id}/edit, …/{num}/comment/{id}/hide
    reposMoveRoute, // POST /api/repos/move
    settingsRoute, // PUT /api/{types}/{repo}/settings
    listReposRoute, // GET /api/models, /api/datasets, /api/spaces
    // Under /cas (with HUBD_XET): POST v1/xorbs/{prefix}/{hash}, v1/shards, v2/shards, v1/telemetry;
    // GET v1/chunks/{prefix}/{hash}, {v1,v2}/reconstructions/{fileId}, v1/xorb-data/{prefix}/{hash}
    xetCasRoutes,
    adminAccountsRoute, // POST, GET /api/admin/users, /api/admin/orgs; DELETE …/{name}
    adminMembersRoute, // GET /api/admin/orgs/{org}/members; PUT, DELETE …/members/{user}
    adminTokensRoute, // POST, GET /api/admin/tokens; DELETE /api/admin/tokens/{id}
    adminReposRoute, // GET /api/admin/repos
  ]
  for (const register of modules) {
    // Each in its own encapsulated scope, so a route's body parsers stay its own.
    await app.register(async (scope) => register(scope, ctx))
  }
}
