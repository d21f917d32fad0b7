#!/usr/bin/env node
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from './config.js'
import { HubError } from './errors.js'
import { projectRoot } from './project-root.js'
import { closeDb, openDb } from '../storage/db/open.js'
import { UsersTable } from '../storage/db/users-table.js'
import { ReposTable } from '../storage/db/repos-table.js'
import { AdminService } from './services/admin-service.js'

const USAGE = `Usage: hubd <command>   (works on HUBD_DATA_DIR, default ./data; safe while hubd runs)

  user create NAME [--fullname TEXT]      user delete NAME      user list
  org create NAME [--fullname TEXT]       org delete NAME       org list
  org add-member ORG USER --role read|write|admin
  org remove-member ORG USER              org members ORG
  token create --user NAME --role read|write [--name LABEL] [--expires ISO-DATE]
                                          (prints only the new token)
  token list [--user NAME]                token revoke ID
  repo list
`

class UsageError extends Error {
  override name = 'UsageError'
}

/** Runs one command; returns what to print on stdout. */
function run(admin: AdminService, argv: string[]): string {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      fullname: { type: 'string' },
      role: { type: 'string' },
      user: { type: 'string' },
      name: { type: 'string' },
      expires: { type: 'string' },
    },
  })
  const [noun, verb, ...rest] = positionals
  const args = (n: number) => {
    if (rest.length !== n) throw new UsageError(`"${noun} ${verb}" takes ${n} argument${n === 1 ? '' : 's'}`)
    return rest as string[]
  }
  const need = (value: string | undefined, flag: string) => {
    if (value === undefined) throw new UsageError(`"${noun} ${verb}" needs --${flag}`)
    return value
  }
  const table = (rows: (string | number | boolean | null)[][]) => rows.map((r) => r.map((c) => c ?? '-').join('\t')).join('\n') + (rows.length ? '\n' : '')
  const accounts = (type: 'user' | 'org') => table(admin.accounts().filter((a) => a.type === type).map((a) => [a.name, a.fullname, a.is_admin ? 'admin' : '', a.created_at]))

  switch (`${noun} ${verb}`) {
    case 'user create':
    case 'org create': {
      const [name] = args(1)
      const row = admin.createAccount(noun as 'user' | 'org', name!, values.fullname ?? '')
      return `created ${row.type} ${row.name}\n`
    }
    case 'user delete':
    case 'org delete': {
      const [name] = args(1)
      admin.deleteAccount(noun as 'user' | 'org', name!)
      return `deleted ${noun} ${name}\n`
    }
    case 'user list':
    case 'org list':
      args(0)
      return accounts(noun as 'user' | 'org')
    case 'org add-member': {
      const [org, user] = args(2)
      const m = admin.setMember(org!, user!, need(values.role, 'role'))
      return `${m.user} is now ${m.role} in ${m.org}\n`
    }
    case 'org remove-member': {
      const [org, user] = args(2)
      admin.removeMember(org!, user!)
      return `removed ${user} from ${org}\n`
    }
    case 'org members': {
      const [org] = args(1)
      return table(admin.members(org!).map((m) => [m.user, m.role]))
    }
    case 'token create': {
      args(0)
      const t = admin.createToken({ user: need(values.user, 'user'), role: need(values.role, 'role'), name: values.name, expiresAt: values.expires })
      // Only the token: scripts capture stdout (`TOKEN=$(npx hubd token create …)`).
      return `${t.token}\n`
    }
    case 'token list':
      args(0)
      return table(admin.tokens(values.user).map((t) => [t.id, t.user, t.name, t.role, t.createdAt, t.expiresAt, t.lastUsedAt, t.revokedAt ? `revoked ${t.revokedAt}` : 'active']))
    case 'token revoke': {
      const [id] = args(1)
      admin.revokeToken(id!)
      return `revoked ${id}\n`
    }
    case 'repo list':
      args(0)
      return table(admin.repoList().map((r) => [r.id, r.type, r.private ? 'private' : 'public', r.usedStorage]))
    default:
      throw new UsageError(noun === undefined ? 'no command given' : `unknown command "${positionals.join(' ')}"`)
  }
}

function main(): number {
  const argv = process.argv.slice(2)
  if (argv.length === 0 || argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE)
    return argv.length === 0 ? 2 : 0
  }
  let db
  try {
    const config = loadConfig()
    fs.mkdirSync(config.dataDir, { recursive: true })
    db = openDb(path.join(config.dataDir, 'hubd.sqlite'), path.join(projectRoot(), 'migrations'))
    const admin = new AdminService(new UsersTable(db), new ReposTable(db))
    process.stdout.write(run(admin, argv))
    return 0
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`hubd: ${(err as Error).message}\n\n${USAGE}`)
      return 2
    }
    if (err instanceof HubError || err instanceof ConfigError) {
      process.stderr.write(`hubd: ${err.message}\n`)
      return 1
    }
    throw err
  } finally {
    if (db) closeDb(db)
  }
}

process.exitCode = main()
