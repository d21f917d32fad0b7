import type { Readable } from 'node:stream'
import type { BlobRange } from './blob-range.js'

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
 * Content-addressed storage of large files as every caller sees it: sha256 blobs, multipart
 * staging and Xet keyed objects. `ContentStore` (content-store.ts) is the one implementation over
 * a `BlobDriver` (blob-driver.ts); it does every sha256, size and verifier check, so a reader never
 * sees a partial or unverified object. `test/storage/blob-store-conformance.ts` is its suite.
 */
export interface BlobStore extends Sha256Blobs, MultipartStaging, KeyedObjects {}

/** Blobs named by the sha256 of their bytes (LFS objects); an existing digest counts as stored. */
export interface Sha256Blobs {
  /** Size of a stored blob, or null. */
  stat(oid: string): Promise<{ size: number } | null>
  /** Streams a stored blob (or an inclusive byte range of it); throws BlobNotFoundError. */
  read(oid: string, range?: ByteRange): Promise<Readable>
  /** Opens a byte range for writing to an HTTP response (throws BlobNotFoundError before anything is sent). */
  openRange(oid: string, range: ByteRange): Promise<BlobRange>
  /** Streams `source` in while hashing and counting; publishes only if both match. */
  put(source: Readable, expected: BlobExpectation): Promise<void>
  delete(oid: string): Promise<void>
}

/** Multipart staging: an upload assembled from parts written in any order, then verified. */
export interface MultipartStaging {
  createStaging(id: string, size: number): Promise<void>
  /** Stores exactly `length` bytes of `source` as the part at `offset`; rewriting a part replaces it. */
  writeStaging(id: string, offset: number, length: number, source: Readable): Promise<void>
  /** Verifies the assembled bytes and publishes them as `expected.oid`; the staging is gone on success, kept on failure. */
  commitStaging(id: string, expected: BlobExpectation): Promise<void>
  abortStaging(id: string): Promise<void>
}

/** Xet xorbs and shards: objects named by a Xet hash whose content a caller-supplied verifier checks. */
export interface KeyedObjects {
  /** Size of a stored keyed object, or null. */
  statKeyed(ns: KeyedNamespace, key: string): Promise<{ size: number } | null>
  /** Streams a stored keyed object (or an inclusive byte range of it); throws BlobNotFoundError. */
  readKeyed(ns: KeyedNamespace, key: string, range?: ByteRange): Promise<Readable>
  /**
   * Streams `source` into a temp object (at most `limit` bytes, else BlobVerifyError) while handing
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
