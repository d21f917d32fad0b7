/** One cached answer: its bytes and what the route keeps beside them (a cursor, a count). */
export interface CachedBody<M = unknown> {
  body: Buffer
  meta: M
  /** The body gzipped, once some client asked for it (send-json.ts); not counted. */
  gzip?: Buffer
  gzipping?: boolean
}

/**
 * Response bodies (serialized answers, small blobs), least recently used first out, bounded by
 * total bytes. For bytes that are pure functions of their key: keys must name everything a body
 * depends on (a commit or object id, a database version), so entries never need invalidating —
 * stale keys just age out. (Large metadata answers — 10,000 siblings, 1,000 tree entries — cost
 * milliseconds to build and serialize each time; bench/metadata.mjs.) Bodies are shared: never
 * modify one.
 */
export class ResponseCache<M = null> {
  private readonly map = new Map<string, CachedBody<M>>()
  private bytes = 0

  constructor(private readonly maxBytes: number) {}

  get(key: string): CachedBody<M> | undefined {
    const hit = this.map.get(key)
    if (hit) {
      this.map.delete(key)
      this.map.set(key, hit)
    }
    return hit
  }

  /** Stores a body (unless it is too big to keep) and returns its entry either way. */
  set(key: string, body: Buffer, meta: M): CachedBody<M> {
    const entry: CachedBody<M> = { body, meta }
    if (body.byteLength > this.maxBytes / 4) return entry // one huge answer must not flush everything else
    const old = this.map.get(key)
    if (old) {
      this.bytes -= old.body.byteLength
      this.map.delete(key)
    }
    this.map.set(key, entry)
    this.bytes += body.byteLength
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break
      this.map.delete(k)
      this.bytes -= v.body.byteLength
    }
    return entry
  }
}

export const JSON_TYPE = 'application/json; charset=utf-8'
