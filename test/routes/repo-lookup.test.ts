import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import type { RepoRow } from '../../storage/db/repos-table.js'
import { registerErrorHandling, errors } from '../../server/errors.js'
import { registerRepoLookup } from '../../server/routes/repo-lookup.js'
import { fileRepoId, gitRepoId } from '../../server/routes/repo-params.js'
import { authed, createRepo, startServer, type TestServer } from '../helpers/server.js'

/**
 * A bare app on the server's context with the lookup hook and routes of its own, so each
 * declaration is tried alone (the real routes are covered by the access matrix and routes tests).
 */
async function appWith(s: TestServer, routes: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = Fastify()
  registerErrorHandling(app, async () => false)
  app.decorateRequest('actor', null as never)
  app.addHook('onRequest', (request, _reply, done) => {
    request.actor = s.ctx.auth.actorFor(request.headers.authorization)
    done()
  })
  registerRepoLookup(app, s.ctx)
  routes(app)
  await app.ready()
  return app
}

const seen = (repo: RepoRow | null) => ({ repo: repo === null ? null : `${repo.namespace}/${repo.name}` })

t.test('a route declaring config.repo gets the repo, access-checked; others are untouched', async (t) => {
  const s = await startServer(t)
  await createRepo(s, 'open')
  await createRepo(s, 'closed', { private: true })
  let actions = 0
  const app = await appWith(s, (app) => {
    app.get('/:ns/:name/read', { config: { repo: { id: fileRepoId('model'), action: 'read' } } }, async (request) => seen(request.repo))
    app.get('/:ns/:name/write', { config: { repo: { id: fileRepoId('model'), action: 'write' } } }, async (request) => seen(request.repo))
    app.get('/:ns/:name/plain', async (request) => seen(request.repo))
    app.post(
      '/by-body',
      {
        config: {
          repo: {
            id: (request) => ({ type: 'model', namespace: 'admin', name: (request.body as { name: string }).name }),
            action: () => {
              actions++
              return 'read'
            },
          },
        },
      },
      async (request) => seen(request.repo),
    )
    app.post('/refuse', { config: { repo: { id: fileRepoId('model'), action: () => { throw errors.unprocessable('refused first') } } } }, async () => 'unreachable')
    app.get('/:ns/:name/git', { config: { repo: { id: gitRepoId('model'), action: 'read', challenge: true } } }, async (request) => seen(request.repo))
  })
  t.teardown(() => app.close())
  const admin = { authorization: `Bearer ${s.token}` }

  const ok = await app.inject({ url: '/admin/open/read' })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { repo: 'admin/open' }, 'the handler sees the repo')
  const head = await app.inject({ method: 'HEAD', url: '/admin/closed/read' })
  t.equal(head.statusCode, 404, "a GET route's HEAD twin is checked too")

  const hidden = await app.inject({ url: '/admin/closed/read' })
  t.same([hidden.statusCode, hidden.headers['x-error-code']], [404, 'RepoNotFound'], 'unreadable: RepoNotFound')
  t.same((await app.inject({ url: '/admin/closed/read', headers: admin })).json(), { repo: 'admin/closed' }, 'its owner reads it')
  t.equal((await app.inject({ url: '/admin/open/write' })).statusCode, 401, 'write without a token: 401')
  t.equal((await app.inject({ url: '/admin/open/write', headers: admin })).statusCode, 200)
  t.same((await app.inject({ url: '/admin/missing/plain' })).json(), { repo: null }, 'a route without the declaration: no lookup, no repo')

  const byBody = await app.inject({ method: 'POST', url: '/by-body', payload: { name: 'open' } })
  t.same([byBody.statusCode, byBody.json(), actions], [200, { repo: 'admin/open' }, 1], 'an id from the body, an action from a function')
  const refused = await app.inject({ method: 'POST', url: '/refuse' })
  t.same([refused.statusCode, refused.json().error], [422, 'refused first'], 'what the action function throws comes before the lookup')

  const challenged = await app.inject({ url: '/admin/closed.git/git' })
  t.equal(challenged.statusCode, 401, 'git dialect: an anonymous caller is challenged instead of 404')
  t.ok(challenged.headers['www-authenticate'], 'with WWW-Authenticate')
  t.same((await app.inject({ url: '/admin/closed.git/git', headers: admin })).json(), { repo: 'admin/closed' }, 'git ids lose their .git')
})

t.test('every lookup goes through RepoService.find, which may answer later (a mirror going upstream)', async (t) => {
  const s = await startServer(t)
  await createRepo(s, 'here')
  const here = await s.ctx.repos.get('model', 'admin', 'here', s.ctx.auth.actorFor(`Bearer ${s.token}`), 'read')
  const repos = s.ctx.repos as unknown as { find: (id: { namespace: string; name: string }) => Promise<RepoRow | undefined> }
  const original = repos.find.bind(s.ctx.repos)
  const asked: string[] = []
  repos.find = async (id) => {
    asked.push(`${id.namespace}/${id.name}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
    return id.name === 'upstream' ? { ...here, name: 'upstream' } : original(id as never)
  }
  t.teardown(() => {
    repos.find = original
  })
  const res = await fetch(`${s.url}/admin/upstream/resolve/main/.gitattributes`)
  t.equal(res.status, 200, 'a repo found late is served')
  const info = await fetch(`${s.url}/api/models/admin/upstream`)
  t.equal(((await info.json()) as { id: string }).id, 'admin/upstream', 'repo info sees the repo find answered')
  t.equal((await authed(s, '/api/models/admin/nowhere/refs')).status, 404, 'a miss is still RepoNotFound')
  t.same(asked, ['admin/upstream', 'admin/upstream', 'admin/nowhere'], 'one find per request')
})
