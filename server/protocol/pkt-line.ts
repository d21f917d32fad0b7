/** A pkt-line: four hex digits giving the length including themselves, then the payload. */
export function pktLine(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  if (body.length > 65516) throw new RangeError('pkt-line payload longer than 65516 bytes')
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'ascii'), body])
}

export const FLUSH_PKT = Buffer.from('0000', 'ascii')

/** What smart HTTP puts before a v0/v1 ref advertisement (`git http-backend` does the same). */
export function servicePreamble(service: 'git-upload-pack' | 'git-receive-pack'): Buffer {
  return Buffer.concat([pktLine(`# service=${service}\n`), FLUSH_PKT])
}

/**
 * The `Git-Protocol` request header as git passes it on in `GIT_PROTOCOL` (`version=2`, several
 * `key=value` joined by `:`), or null when absent or malformed.
 */
export function gitProtocolParam(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header
  return value && /^[A-Za-z0-9._=:-]{1,256}$/.test(value) ? value : null
}

/** Whether a `GIT_PROTOCOL` value asks for protocol v2. */
export function wantsV2(param: string | null): boolean {
  return param !== null && param.split(':').includes('version=2')
}

/** One `<old> <new> <ref>` line as a pre-receive hook reads it on stdin. */
export interface RefUpdate {
  old: string
  new: string
  ref: string
}

/** Parses pre-receive stdin; throws on a malformed line. */
export function parseRefUpdates(text: string): RefUpdate[] {
  const out: RefUpdate[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (refs\/\S+)$/.exec(line)
    if (!m) throw new Error(`malformed ref update line: ${JSON.stringify(line.slice(0, 200))}`)
    out.push({ old: m[1]!, new: m[2]!, ref: m[3]! })
  }
  return out
}
