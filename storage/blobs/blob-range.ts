import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/** An opened byte range of a blob that can write itself to an HTTP response. */
export interface BlobRange {
  /** Writes the bytes to `res` and ends it; closes the blob either way. */
  sendTo(res: Writable): Promise<void>
  close(): Promise<void>
}

/** A BlobRange over a stream (a driver without a faster path, a reconstruction): piped to the response, with back-pressure. */
export function streamRange(stream: Readable): BlobRange {
  return {
    async sendTo(res: Writable) {
      try {
        await pipeline(stream, res)
      } catch (err) {
        res.destroy(err as Error)
        throw err
      }
    },
    async close() {
      stream.destroy()
    },
  }
}
