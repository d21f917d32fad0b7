import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Config } from './config.js'
import { closeDb, openDb, type Db } from '../storage/db/open.js'
import { UsersTable } from '../storage/db/users-table.js'
import { ReposTable } from '../storage/db/repos-table.js'
import { LfsTable } from '../storage/db/lfs-table.js'
import { SettingsTable } from '../storage/db/settings-table.js'
import { ContentStore } from '../storage/blobs/content-store.js'
import { FsBlobDriver } from '../storage/blobs/fs-blob-driver.js'
import type { BlobStore } from '../storage/blobs/blob-store.js'
import { RepoStore } from '../storage/git/repo-store.js'
import { Authenticator } from './auth/authenticate.js'
import { UrlSigner } from './auth/signed-url.js'
import { generateToken, hashToken } from './auth/tokens.js'
import { RepoService } from './services/repo-service.js'
import { ContentService } from './services/content-service.js'
import { CommitService } from './services/commit-service.js'
import { LfsService } from './services/lfs-service.js'
import { projectRoot } from './project-root.js'
import { GitCli } from '../storage/git/git-cli.js'
import { GitHttpService } from './services/git-http-service.js'
import { PushCheck } from './services/push-check.js'
import { MaintenanceService } from './services/maintenance-service.js'
import { DiscussionsTable } from '../storage/db/discussions-table.js'
import { RefsService } from './services/refs-service.js'
import { HistoryService } from './services/history-service.js'
import { PullRequestService } from './services/pull-request-service.js'
import { RepoIndexer } from './services/repo-indexer.js'
import { DownloadCounter } from './services/download-counter.js'
import { ListingService } from './services/listing-service.js'
import { AdminService } from './services/admin-service.js'
import { DiscussionService } from './services/discussion-service.js'
import { XetTable } from '../storage/db/xet-table.js'
import { CasTokens } from './auth/cas-token.js'
import { XetService } from './services/xet/service.js'
import { XetBackedBlobStore } from '../storage/xet/xet-blob-store.js'

/** Everything the routes use, wired once. Nothing here listens or reads the environment. */
export interface Context {
  readonly config: Config
  readonly db: Db
  readonly users: UsersTable
  readonly blobs: BlobStore
  readonly auth: Authenticator
  readonly repos: RepoService
  readonly content: ContentService
  readonly commits: CommitService
  readonly refs: RefsService
  readonly history: HistoryService
  readonly discussions: DiscussionService
  readonly pullRequests: PullRequestService
  /** Titles, comment edits and hiding, PR diffs. */
  readonly indexer: RepoIndexer
  readonly downloads: DownloadCounter
  readonly listing: ListingService
  /** Users, orgs, members and tokens (the admin API and the CLI). */
  readonly admin: AdminService
  readonly lfs: LfsService
  /** Xet storage: CAS tokens, uploads, reconstruction (issue 6). */
  readonly xet: XetService
  /** git clone/fetch/push over HTTP (503 when git was not found at start). */
  readonly git: GitHttpService
  /** Packs repositories written by API commits and pushes. */
  readonly maintenance: MaintenanceService
  /** The admin token generated on this start (null if configured or generated earlier): print it once. */
  readonly generatedAdminToken: string | null
  /** The base every absolute URL is built from (docs/hub-api.md §1.1). */
  publicUrl(): string
  /**
   * Tells the context the port actually bound, for the default public URL (`http://localhost:<port>`);
   * tests pass the host they connect to.
   */
  setListenPort(port: number, host?: string): void
  close(): void
}

export async function createContext(config: Config): Promise<Context> {
  fs.mkdirSync(config.dataDir, { recursive: true })
  const db = openDb(path.join(config.dataDir, 'hubd.sqlite'), path.join(projectRoot(), 'migrations'))
  const users = new UsersTable(db)
  const reposTable = new ReposTable(db)
  const lfsTable = new LfsTable(db)
  const settings = new SettingsTable(db)
  // The one place that knows where blob bytes live: another driver (S3) is chosen here.
  const blobDriver = new FsBlobDriver(path.join(config.dataDir, 'blobs'), { fsync: config.fsync })
  const contentStore = new ContentStore(blobDriver)
  const store = new RepoStore(path.join(config.dataDir, 'repos'))
  store.onRefsMoved((id) => reposTable.refsMoved(id))
  await Promise.all([blobDriver.sweep(), store.sweep()])

  let port = config.port
  let host = 'localhost'
  const publicUrl = () => config.publicUrl ?? `http://${host}:${port}`
  const signer = new UrlSigner(Buffer.from(settings.getOrCreate('url-signing-key', () => randomBytes(32).toString('hex')), 'hex'))
  const casTokens = new CasTokens(Buffer.from(settings.getOrCreate('xet-token-key', () => randomBytes(32).toString('hex')), 'hex'))
  const xet = new XetService(new XetTable(db), lfsTable, contentStore, casTokens, signer, publicUrl)
  // Every LFS read path also finds objects uploaded through Xet (reconstructed on the fly).
  const blobs = new XetBackedBlobStore(contentStore, xet)

  const generatedAdminToken = bootstrapAdmin(users, config)
  const content = new ContentService(store, lfsTable, () => reposTable.generation)
  const lfs = new LfsService(lfsTable, blobs, signer, config, publicUrl)
  await lfs.expireUploads()
  const gitCli = await GitCli.detect(config.gitBinary, config.processPath, ensureDir(path.join(config.dataDir, 'git-home')))
  const indexer = new RepoIndexer(reposTable, content)
  const discussionsTable = new DiscussionsTable(db)
  const discussions = new DiscussionService(discussionsTable, store, content)
  const pullRequests = new PullRequestService(store, content, discussions, discussionsTable, indexer, publicUrl, gitCli)
  const downloads = new DownloadCounter(reposTable)
  return {
    config,
    db,
    users,
    blobs,
    auth: new Authenticator(users, { anonymousRead: config.anonymousRead }),
    repos: new RepoService(reposTable, users, store, indexer, publicUrl),
    content,
    commits: new CommitService(store, reposTable, lfsTable, pullRequests, indexer, publicUrl, config.patternLimits, xet),
    refs: new RefsService(store, content, indexer, publicUrl),
    history: new HistoryService(content),
    discussions,
    pullRequests,
    indexer,
    downloads,
    listing: new ListingService(reposTable),
    admin: new AdminService(users, reposTable),
    lfs,
    xet,
    git: new GitHttpService(gitCli, store, reposTable, gitCli && new PushCheck(gitCli, lfsTable, blobs), {
      maxProcesses: config.gitMaxProcesses,
      hooksDir: path.join(projectRoot(), 'git-hooks'),
      gitBinary: config.gitBinary,
      afterPush: (repo) => indexer.refresh(repo),
    }),
    maintenance: new MaintenanceService(store, gitCli, {
      everyWrites: config.gitMaintenanceWrites,
      intervalMs: config.gitMaintenanceInterval * 1000,
    }),
    generatedAdminToken,
    publicUrl,
    setListenPort(p: number, h?: string) {
      port = p
      if (h) host = h
    },
    close() {
      downloads.close()
      closeDb(db)
    },
  }
}

/** An empty folder (git's HOME: no user config may leak into the git processes). */
function ensureDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

/**
 * Ensures the admin user exists with a usable write token: the configured one, or on a first
 * start without one, a generated token whose hash alone is stored.
 */
function bootstrapAdmin(users: UsersTable, config: Config): string | null {
  const admin = users.ensureUser(config.adminUser, { admin: true })
  if (config.adminToken) {
    users.addToken(admin.id, 'HUBD_ADMIN_TOKEN', 'write', hashToken(config.adminToken))
    return null
  }
  if (users.activeTokenCount(admin.id) > 0) return null
  const token = generateToken()
  users.addToken(admin.id, 'bootstrap', 'write', hashToken(token))
  return token
}
