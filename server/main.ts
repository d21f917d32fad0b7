import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { createContext } from './context.js'

/** Process entry: config → context → app → listen; closes gracefully on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hubd: invalid configuration: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const ctx = await createContext(config)
  const app = await buildApp(ctx)
  const address = await app.listen({ port: config.port, host: config.host })
  const port = (app.server.address() as { port: number }).port
  ctx.setListenPort(port)
  if (ctx.generatedAdminToken) {
    // Printed once, to the terminal only: just its hash is stored.
    process.stdout.write(
      `\nhubd: generated a write token for the admin user "${config.adminUser}" (shown only this once):\n\n    ${ctx.generatedAdminToken}\n\n`,
    )
  }
  app.log.info({ address, publicUrl: ctx.publicUrl(), dataDir: config.dataDir }, 'hubd listening')

  let closing = false
  const close = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    await app.close()
    ctx.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void close('SIGINT'))
  process.on('SIGTERM', () => void close('SIGTERM'))
}

main().catch((err) => {
  process.stderr.write(`hubd: failed to start: ${(err as Error).stack ?? err}\n`)
  process.exit(1)
})
