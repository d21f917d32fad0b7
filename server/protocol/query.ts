/**
 * Query booleans arrive as true/false, True/False (requests) or 1 (docs/hub-api.md §1.8). A non-empty string
 * is not true by itself.
 */
export function queryBool(value: unknown, fallback = false): boolean {
  if (Array.isArray(value)) value = value[value.length - 1]
  if (typeof value === 'boolean') return value
  if (typeof value !== 'string') return fallback
  const v = value.toLowerCase()
  if (v === 'true' || v === '1' || v === 'yes') return true
  if (v === 'false' || v === '0' || v === 'no' || v === '') return false
  return fallback
}

/** Repeated keys (`expand=a&expand=b`) and the bracket form (`expand[]=a`) as one list. */
export function queryList(query: Record<string, unknown>, key: string): string[] {
  const out: string[] = []
  for (const k of [key, `${key}[]`]) {
    const v = query[k]
    if (Array.isArray(v)) out.push(...v.map(String))
    else if (typeof v === 'string') out.push(v)
  }
  return out
}
