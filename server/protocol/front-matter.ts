import { parse } from 'yaml'

export type FrontMatter =
  | { kind: 'empty' }
  | { kind: 'ok'; data: Record<string, unknown> }
  | { kind: 'invalid'; message: string }

/** The YAML front matter of a README (between leading `---` lines): absent, an object, or invalid. */
export function parseFrontMatter(readme: string): FrontMatter {
  const m = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(\r?\n|$)/.exec(readme)
  if (!m) return { kind: 'empty' }
  let data: unknown
  try {
    data = parse(m[1]!)
  } catch (err) {
    return { kind: 'invalid', message: (err as Error).message.split('\n')[0]! }
  }
  if (data === null || data === undefined) return { kind: 'empty' }
  if (typeof data !== 'object' || Array.isArray(data)) return { kind: 'invalid', message: 'metadata must be a YAML mapping' }
  return { kind: 'ok', data: data as Record<string, unknown> }
}
