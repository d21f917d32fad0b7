import type { ReposTable, RepoRow } from '../../storage/db/repos-table.js'

/** The Hub's default query files: a request for one of these at the repo root is one download. */
const DEFAULT_QUERY_FILES = new Set(['config.json', 'config.yaml', 'hyperparams.yaml', 'meta.yaml'])

/** Libraries that count other files, as on the Hub (a subset of its table). */
const LIBRARY_QUERY_FILES: Record<string, (path: string) => boolean> = {
  'adapter-transformers': (p) => p === 'adapter_config.json',
  peft: (p) => p === 'adapter_config.json',
  keras: (p) => p === 'saved_model.pb',
  nemo: (p) => p.endsWith('.nemo'),
  gguf: (p) => p.endsWith('.gguf'),
  'ml-agents': (p) => p.endsWith('.onnx'),
  flair: (p) => p === 'pytorch_model.bin',
  asteroid: (p) => p === 'pytorch_model.bin',
}

/**
 * Counts model downloads per the Hub's rule (every GET or HEAD of a query file). Counts are kept
 * in memory and written in one transaction per second, so resolve stays free of per-request writes.
 */
export class DownloadCounter {
  private pending = new Map<string, number>()
  private readonly timer: NodeJS.Timeout

  constructor(private readonly repos: ReposTable) {
    this.timer = setInterval(() => this.flush(), 1000)
    this.timer.unref()
  }

  isQueryFile(repo: RepoRow, path: string): boolean {
    if (repo.type !== 'model') return false
    const custom = repo.library_name ? LIBRARY_QUERY_FILES[repo.library_name] : undefined
    return custom ? custom(path) : DEFAULT_QUERY_FILES.has(path)
  }

  /** Records a request for `path` if it counts. */
  record(repo: RepoRow, path: string): void {
    if (this.isQueryFile(repo, path)) this.pending.set(repo.id, (this.pending.get(repo.id) ?? 0) + 1)
  }

  flush(): void {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    try {
      this.repos.addDownloads(batch)
    } catch (err) {
      // A full disk must not take downloads down with it (this runs on a timer, where a throw
      // ends the process): keep the counts for a later flush, once there is room again.
      if ((err as { code?: string }).code !== 'SQLITE_FULL') throw err
      for (const [id, n] of batch) this.pending.set(id, (this.pending.get(id) ?? 0) + n)
    }
  }

  close(): void {
    clearInterval(this.timer)
    this.flush()
  }
}
