import type { Readable } from 'node:stream'

/** What a blob must be: its sha256 (64 lowercase hex) and byte count. */
export interface BlobExpectation {
  oid: string
  size: number
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number
  /** Last byte, inclusive. */
  end: number
}

/** The bytes did not hash or count to what was promised; nothing was stored. */
export class BlobVerifyError extends Error {
  override name = 'BlobVerifyError'
}

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError'
}

/**
 * Content-addressed storage of large files, keyed by sha256. Drivers (local disk now, S3 later)
 * write as temp → verify → publish, so a reader never sees a partial blob, and treat an existing
 * digest as already stored. `test/storage/blob-store-conformance.ts` is the suite every driver passes.
 */
export interface BlobStore {
  /** Size of a stored blob, or null. */
  stat(oid: string): Promise<{ size: number } | null>
  /** Streams a stored blob (or an inclusive byte range of it); throws BlobNotFoundError. */
  read(oid: string, range?: ByteRange): Promise<Readable>
  /** Streams `source` in while hashing and counting; publishes only if both match. */
  put(source: Readable, expected: BlobExpectation): Promise<void>

  /** Multipart staging: an upload assembled from parts written in any order, then verified. */
  createStaging(id: string, size: number): Promise<void>
  /** Writes exactly `length` bytes of `source` at `offset`; rewriting a part overwrites it. */
  writeStaging(id: string, offset: number, length: number, source: Readable): Promise<void>
  /** Verifies the assembled bytes and publishes them as `expected.oid`; the staging is gone either way on success. */
  commitStaging(id: string, expected: BlobExpectation): Promise<void>
  abortStaging(id: string): Promise<void>

  delete(oid: string): Promise<void>
  /** Removes leftovers of writers that died (temp files); safe while other processes run. */
  sweep(): Promise<void>

  /** Size of a stored keyed object (Xet xorb or shard), or null. */
  statKeyed(ns: KeyedNamespace, key: string): Promise<{ size: number } | null>
  /** Streams a stored keyed object (or an inclusive byte range of it); throws BlobNotFoundError. */
  readKeyed(ns: KeyedNamespace, key: string, range?: ByteRange): Promise<Readable>
  /**
   * Streams `source` into a temp file (at most `limit` bytes, else BlobVerifyError) while handing
   * every byte to `verifier`; publishes the first `keep` bytes under `key` only if `finish()`
   * accepts them. Whatever the verifier throws is rethrown, and nothing is stored.
   */
  putKeyed(ns: KeyedNamespace, key: string, source: Readable, opts: { limit: number; verifier: StreamVerifier }): Promise<void>
}

/**
 * The second, Xet namespace of the store: objects named by a Xet hash (64 lowercase hex, the
 * string form) whose content is checked by a caller-supplied verifier, not by sha256.
 */
export type KeyedNamespace = 'xorb' | 'shard'

export const KEYED_NAMESPACES: readonly KeyedNamespace[] = ['xorb', 'shard']

/** Checks a keyed object while it streams in (see `putKeyed`). */
export interface StreamVerifier {
  /**
   * Sees the next bytes, in order; may throw to stop the upload early. A returned promise asks
   * the caller to wait before passing more (the verifier is behind); it rejects like a throw.
   */
  update(chunk: Buffer): void | Promise<void>
  /** All bytes seen: throws (or rejects) if they are not acceptable, else how many leading bytes to keep. */
  finish(): { keep: number } | Promise<{ keep: number }>
  /** The upload failed before or while `finish` ran (optional: frees what the verifier holds). */
  abort?(): void
}

export const SHA256_RE = /^[0-9a-f]{64}$/
