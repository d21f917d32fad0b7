const parsed = new Map<string, boolean>()

/**
 * Whether an `Accept-Encoding` header (RFC 9110 §12.5.3) accepts gzip: `gzip` (or `x-gzip`)
 * with a q-value above 0, or `*` above 0 when gzip is not listed. Clients send a handful of
 * distinct values (requests and undici: `gzip, deflate`), so answers are memoised, boundedly.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false
  let yes = parsed.get(header)
  if (yes === undefined) {
    yes = parse(header)
    if (parsed.size >= 256) parsed.clear()
    parsed.set(header, yes)
  }
  return yes
}

function parse(header: string): boolean {
  let gzip: number | undefined
  let any: number | undefined
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim())
    let q = 1
    for (const p of params) {
      const m = /^q\s*=\s*(.*)$/i.exec(p)
      // A malformed weight accepts nothing rather than everything.
      if (m) q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(m[1]!) ? Number(m[1]) : 0
    }
    const name = coding.toLowerCase()
    if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip ?? 0, q)
    else if (name === '*') any = q
  }
  return (gzip ?? any ?? 0) > 0
}
