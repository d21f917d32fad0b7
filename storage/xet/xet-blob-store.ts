import type { Readable } from 'node:stream'
import { streamRange, type BlobRange } from '../blobs/blob-range.js'
import {
  BlobNotFoundError,
  type BlobExpectation,
  type BlobStore,
  type ByteRange,
  type KeyedNamespace,
  type StreamVerifier,
} from '../blobs/blob-store.js'

/** What the wrapper needs from the Xet side: LFS objects that exist only as Xet files. */
export interface XetObjects {
  fileOf(oid: string): { size: number } | undefined
  readObject(oid: string, range?: ByteRange): Promise<Readable | null>
}

/**
 * The blob store as every LFS path sees it (resolve, LFS batch and download, push checks): sha256
 * blobs first, then LFS objects that were uploaded through Xet, reconstructed from their xorbs as
 * a stream (docs/xet-protocol.md §1.5, §6). Writes go to the underlying store unchanged.
 */
export class XetBackedBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    private readonly xet: XetObjects,
  ) {}

  async stat(oid: string): Promise<{ size: number } | null> {
    const s = await this.inner.stat(oid)
    if (s) return s
    const f = this.xet.fileOf(oid)
    return f ? { size: f.size } : null
  }

  async read(oid: string, range?: ByteRange): Promise<Readable> {
    try {
      return await this.inner.read(oid, range)
    } catch (err) {
      if (!(err instanceof BlobNotFoundError)) throw err
      const r = await this.xet.readObject(oid, range)
      if (!r) throw err
      return r
    }
  }

  async openRange(oid: string, range: ByteRange): Promise<BlobRange> {
    try {
      return await this.inner.openRange(oid, range)
    } catch (err) {
      if (!(err instanceof BlobNotFoundError)) throw err
      const r = await this.xet.readObject(oid, range)
      if (!r) throw err
      return streamRange(r)
    }
  }

  put(source: Readable, expected: BlobExpectation): Promise<void> {
    return this.inner.put(source, expected)
  }
  createStaging(id: string, size: number): Promise<void> {
    return this.inner.createStaging(id, size)
  }
  writeStaging(id: string, offset: number, length: number, source: Readable): Promise<void> {
    return this.inner.writeStaging(id, offset, length, source)
  }
  commitStaging(id: string, expected: BlobExpectation): Promise<void> {
    return this.inner.commitStaging(id, expected)
  }
  abortStaging(id: string): Promise<void> {
    return this.inner.abortStaging(id)
  }
  delete(oid: string): Promise<void> {
    return this.inner.delete(oid)
  }
  statKeyed(ns: KeyedNamespace, key: string): Promise<{ size: number } | null> {
    return this.inner.statKeyed(ns, key)
  }
  readKeyed(ns: KeyedNamespace, key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.readKeyed(ns, key, range)
  }
  putKeyed(ns: KeyedNamespace, key: string, source: Readable, opts: { limit: number; verifier: StreamVerifier }): Promise<void> {
    return this.inner.putKeyed(ns, key, source, opts)
  }
}
