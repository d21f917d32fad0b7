/** The body exceeded its size limit. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
}

/**
 * Splits a byte stream into UTF-8 lines without holding more than the current line, and stops
 * with BodyTooLargeError once `maxBytes` have been read. A final line without `\n` is yielded too.
 */
export async function* ndjsonLines(source: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<string> {
  let pending: Buffer[] = []
  let total = 0
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    total += buf.length
    if (total > maxBytes) throw new BodyTooLargeError(`body larger than ${maxBytes} bytes`)
    let start = 0
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      pending.push(buf.subarray(start, nl))
      yield Buffer.concat(pending).toString('utf8')
      pending = []
      start = nl + 1
    }
    if (start < buf.length) pending.push(buf.subarray(start))
  }
  if (pending.length) yield Buffer.concat(pending).toString('utf8')
}
