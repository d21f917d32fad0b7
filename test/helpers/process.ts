import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { projectRoot } from '../../server/project-root.js'
import { ADMIN_TOKEN } from './server.js'

export interface ServerProcess {
  url: string
  child: ChildProcess
  /** Resolves when the process has exited. */
  exited: Promise<void>
  kill(signal?: NodeJS.Signals): Promise<void>
}

/**
 * Runs the built server (`dist/server/main.js`, made by `npm run build`, which `npm test` runs
 * first) as a separate process, for tests that kill it. Resolves once it listens.
 */
export async function spawnServer(dataDir: string, port: number, env: Record<string, string> = {}): Promise<ServerProcess> {
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [path.join(projectRoot(), 'dist/server/main.js')], {
    env: {
      PATH: process.env.PATH,
      HUBD_DATA_DIR: dataDir,
      HUBD_PORT: String(port),
      HUBD_HOST: '127.0.0.1',
      HUBD_PUBLIC_URL: url,
      HUBD_ADMIN_TOKEN: ADMIN_TOKEN,
      HUBD_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (c: Buffer) => (output += c))
  child.stderr!.on('data', (c: Buffer) => (output += c))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${output}`)
    const ok = await fetch(`${url}/api/whoami-v2`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`server did not start:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    child,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}

/** A port that was free a moment ago (the server binds it right after). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}
