import { ResponseCache, type CachedBody } from './response-cache.js'

/**
 * What a cached answer is a function of, in a fixed order: ids, a commit, a database version, query
 * values. Joined with NUL, which none of them can hold (HTTP rejects it in a URL), so two different
 * lists never share a key. (Joining an array also beat a template string: V8 hashes a flat string.)
 */
export type KeyParts = readonly (string | number)[]

/** A route's serialized JSON answers, keyed by the parts they depend on (see ResponseCache). */
export interface JsonCache<M> {
  get(parts: KeyParts): CachedBody<M> | undefined
  /** Stores a body with its meta (a cursor, a count) and returns its entry, for sendCachedJson. */
  set(parts: KeyParts, body: Buffer, meta: M): CachedBody<M>
}

/** A JsonCache of at most `maxBytes` of bodies: the one place where answer keys are built. */
export function cachedJson<M = null>(maxBytes: number): JsonCache<M> {
  const cache = new ResponseCache<M>(maxBytes)
  return {
    get: (parts) => cache.get(parts.join('\0')),
    set: (parts, body, meta) => cache.set(parts.join('\0'), body, meta),
  }
}
