import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createContext, type Context } from '../../server/context.js'

export const ADMIN_TOKEN = 'hf_testadmintoken0123456789abcdef'

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:PORT (also the server's public URL). */
  url: string
  token: string
  app: FastifyInstance
  ctx: Context
  dataDir: string
  /** Everything the server logged so far, as text (pino NDJSON). */
  logs(): string
}

/**
 * Starts a real listening server on port 0 with a fresh temp data dir, and closes it
 * when the test ends. `env` adds HUBD_* settings.
 */
export async function startServer(t: Test, env: Record<string, string> = {}): Promise<TestServer> {
  // Its own temp dir, not t.testdir(): a test may call t.testdir() for its fixtures, which resets it.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubd-test-'))
  const config = loadConfig({ HUBD_DATA_DIR: dataDir, HUBD_PORT: '0', HUBD_ADMIN_TOKEN: ADMIN_TOKEN, HUBD_FSYNC: 'false', ...env })
  const ctx = await createContext(config)
  const logStream = new PassThrough()
  let logText = ''
  logStream.on('data', (c: Buffer) => (logText += c.toString('utf8')))
  const app = await buildApp(ctx, { logStream })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  // The default public URL says localhost; tests use the IP the server listens on.
  ctx.setListenPort(port, '127.0.0.1')
  const url = ctx.publicUrl()
  t.teardown(async () => {
    await app.close()
    ctx.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  return { url, token: ADMIN_TOKEN, app, ctx, dataDir, logs: () => logText }
}

/** fetch with the admin token. */
export function authed(server: TestServer, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${server.token}`)
  return fetch(`${server.url}${path}`, { ...init, headers })
}

/** Creates a repo through the API and returns its id. */
export async function createRepo(server: TestServer, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await authed(server, '/api/repos/create', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, ...extra }),
  })
  if (res.status !== 200) throw new Error(`create ${name}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { name: string }).name
}

/** Posts NDJSON commit lines (objects) and returns the response. */
export function commitLines(server: TestServer, repoPath: string, rev: string, lines: unknown[], token = server.token): Promise<Response> {
  return fetch(`${server.url}/api/${repoPath}/commit/${encodeURIComponent(rev)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'),
  })
}
