import type { Readable } from 'node:stream'
import type { BlobRange } from './blob-range.js'
import type { ByteRange } from './blob-store.js'

/**
 * Where the bytes of the blob store live (local disk now, S3 next): named objects, written once
 * through a temp object and committed whole, never modified in place. Knows nothing of sha256,
 * sizes or verifiers: `ContentStore` (content-store.ts) does every check above it. Keys are
 * `/`-separated relative paths of `[A-Za-z0-9._-]` segments (`sha256/ab/cd/<oid>`,
 * `staging/<id>/part-<offset>`, `xorb/ab/<hash>`); a bad key reads as absent.
 * `test/storage/blob-driver-conformance.ts` is the suite every driver passes.
 */
export interface BlobDriver {
  /** Size of a committed object, or null. */
  stat(key: string): Promise<{ size: number } | null>
  /**
   * Streams a committed object or an inclusive byte range of it (a range past the end stops at the
   * end); throws BlobNotFoundError. The stream may be a RecyclingReadable.
   */
  read(key: string, range?: ByteRange): Promise<Readable>
  /** A temp object that becomes `key` on `commit` (replacing what is there); invisible until then. */
  createWriter(key: string, opts?: WriterOptions): Promise<BlobWriter>
  /** Removes an object; absent is not an error. */
  delete(key: string): Promise<void>
  /** Every committed object whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<{ key: string; size: number }>

  /** Optional fast path for downloads (the fs driver reads into reused buffers); else `read` is piped. */
  openRange?(key: string, range: ByteRange): Promise<BlobRange>
  /** Optional: a URL a client can use directly for `op` on `key` (S3); the server streams otherwise. */
  presign?(op: 'get' | 'put', key: string, opts: PresignOptions): Promise<string>
  /** Optional: removes temp objects of writers that died (safe while other processes write). */
  sweep?(): Promise<void>

  /**
   * Optional, with `rename`, for drivers that can write into an object at an offset (fs): a writer
   * whose bytes land at `offset` of the committed object `key` as they are written (no temp
   * object; `end(length)` is not supported, `commit`/`abort` only release it). Multipart staging
   * then writes its parts into one object and publishes it by `rename` instead of copying part
   * objects into a new one at the commit. Throws BlobNotFoundError if `key` does not exist.
   */
  writeAt?(key: string, offset: number): Promise<BlobWriter>
  /** Optional, with `writeAt`: moves a committed object to `to` atomically, made as durable as a commit. */
  rename?(from: string, to: string): Promise<void>
}

export interface PresignOptions {
  /** Seconds the URL stays valid. */
  expiresIn: number
  /** put: the exact byte count the client must send. */
  contentLength?: number
  /** get: the Content-Disposition the download answers with. */
  contentDisposition?: string
}

export interface WriterOptions {
  /**
   * False for objects that are checked again before anything relies on them (multipart parts: the
   * commit hashes them): the driver may skip making them durable. Default true.
   */
  durable?: boolean
}

/** A temp object being written: bytes in order, then `end`, then `commit` or `abort`. */
export interface BlobWriter {
  /**
   * Appends the buffers (the caller does not touch them until this settles); at most one call in
   * flight. May make bytes durable as it goes (fs: fdatasync every 64 MiB with fsync on).
   */
  write(chunks: readonly Buffer[]): Promise<void>
  /**
   * No more bytes: keeps only the first `length` bytes (all by default) and makes them as durable
   * as the driver promises, so `commit` only has to publish.
   */
  end(length?: number): Promise<void>
  /** Publishes the ended temp object under its key, atomically (readers see the old object or the new one). */
  commit(): Promise<void>
  /** Drops the temp object; safe to call at any point, also after a failed write, and more than once. */
  abort(): Promise<void>
}

/** Drivers whose streams take pieces back for reuse (see the fs driver's read stream). */
export interface RecyclingReadable extends Readable {
  recycle(piece: Buffer): void
}
