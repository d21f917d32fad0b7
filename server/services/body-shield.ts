import { PassThrough, finished, type Readable } from 'node:stream'

/**
 * Hands a request body to a blob-store writer through a PassThrough. A writer that gives up (too
 * many bytes, a bad hash) destroys its source; shielded, that is the PassThrough and not the
 * request, so the 4xx still reaches the client — `release()` lets the rest of the body drain —
 * instead of a connection reset while the client is still sending. A client abort still fails
 * the writer.
 */
export function shield(body: Readable): { stream: Readable; release(): void } {
  const pass = new PassThrough({ highWaterMark: 1024 * 1024 })
  body.pipe(pass)
  finished(body, (err) => {
    if (err) pass.destroy(err)
  })
  return {
    stream: pass,
    release() {
      body.unpipe(pass)
      body.resume()
    },
  }
}
