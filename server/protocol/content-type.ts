const TYPES: Record<string, string> = {
  json: 'application/json',
  md: 'text/markdown; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  py: 'text/x-python; charset=utf-8',
  yaml: 'text/yaml; charset=utf-8',
  yml: 'text/yaml; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  html: 'text/plain; charset=utf-8', // never render user content as a page on our origin
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
}

/** A Content-Type for a served file; never the Xet file-info type (docs/hub-api.md §7.10). */
export function contentTypeFor(path: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase()
  return (ext && TYPES[ext]) || 'application/octet-stream'
}

/** `inline; filename*=UTF-8''…; filename="…";` — py only reads the ASCII form, for progress bars. */
export function contentDisposition(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `inline; filename*=UTF-8''${encodeURIComponent(name)}; filename="${ascii}";`
}
