// Browsers (transformers.js, @huggingface/hub in a page) call hubd cross-origin: every answer,
// errors included, allows any origin and exposes the headers the clients read; a preflight
// (OPTIONS) answer says which methods and request headers are allowed. Only the preflight carries
// those two: browsers read them nowhere else.
import t from 'tap'
import { commitLines, createRepo, startServer } from '../helpers/server.js'

const EXPOSED = ['ETag', 'X-Repo-Commit', 'X-Linked-Size', 'X-Linked-Etag', 'X-Error-Code', 'X-Error-Message', 'X-Request-Id', 'X-Total-Count', 'Link', 'Content-Range', 'X-Xet-Hash']

t.test('CORS on answers, errors and preflights', async (t) => {
  const s = await startServer(t)
  const name = await createRepo(s, 'cors')
  const put = { key: 'file', value: { path: 'a.txt', content: Buffer.from('a').toString('base64'), encoding: 'base64' } }
  t.equal((await commitLines(s, `models/${name}`, 'main', [{ key: 'header', value: { summary: 'a' } }, put])).status, 200)

  const simple = (res: Response, what: string) => {
    t.equal(res.headers.get('access-control-allow-origin'), '*', `${what}: any origin`)
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(/,\s*/)
    for (const h of EXPOSED) t.ok(exposed.includes(h), `${what}: exposes ${h}`)
    t.equal(res.headers.get('access-control-allow-methods'), null, `${what}: no preflight headers`)
    t.ok(res.headers.get('x-request-id'), `${what}: a request id`)
  }
  const origin = { origin: 'https://app.example' }
  simple(await fetch(`${s.url}/${name}/resolve/main/a.txt`, { headers: origin }), 'resolve GET')
  simple(await fetch(`${s.url}/${name}/resolve/main/a.txt`, { method: 'HEAD', headers: origin }), 'resolve HEAD')
  simple(await fetch(`${s.url}/api/models/${name}`, { headers: origin }), 'repo info')
  const missing = await fetch(`${s.url}/${name}/resolve/main/nope.txt`, { headers: origin })
  t.equal(missing.status, 404)
  simple(missing, 'a 404')
  const badEncoding = await fetch(`${s.url}/api/models/${name}/tree/main/%E0%A4%A`, { headers: origin })
  t.equal(badEncoding.status, 400)
  simple(badEncoding, 'a malformed URL the router refuses')

  const preflight = await fetch(`${s.url}/${name}/resolve/main/a.txt`, {
    method: 'OPTIONS',
    headers: { ...origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, range' },
  })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), '*')
  const methods = (preflight.headers.get('access-control-allow-methods') ?? '').split(/,\s*/)
  for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']) t.ok(methods.includes(m), `preflight allows ${m}`)
  const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/)
  for (const h of ['authorization', 'content-type', 'range', 'x-xet-session-id']) t.ok(allowed.includes(h), `preflight allows ${h}`)
  t.ok(Number(preflight.headers.get('access-control-max-age')) > 0, 'browsers may cache the preflight')

  // Request ids: unique per request, and a caller's own id is kept.
  const ids = new Set<string>()
  for (let i = 0; i < 20; i++) ids.add((await fetch(`${s.url}/api/models/${name}`)).headers.get('x-request-id')!)
  t.equal(ids.size, 20, 'a new id per request')
  const given = await fetch(`${s.url}/api/models/${name}`, { headers: { 'x-request-id': 'Root=1-abc-def' } })
  t.equal(given.headers.get('x-request-id'), 'Root=1-abc-def')
})
