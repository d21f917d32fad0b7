/**
 * Names every checkout can hold (issue 13, item 6). Linux and macOS file systems refuse a name
 * over 255 bytes (git clone fails with "File name too long"), and macOS treats names that are
 * equal in Unicode NFC as one file, so a folder holding `é.txt` in both forms loses one of them.
 */
export const MAX_ENTRY_NAME_BYTES = 255

// Only non-ASCII names can differ from their NFC form (and all-ASCII names are their own).
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/

/** `name` in NFC, without normalizing the (common) all-ASCII names. */
export function nfcKey(name: string): string {
  return ASCII.test(name) ? name : name.normalize('NFC')
}

/** Why `name` cannot be a new entry of a folder, or null. `path` is its full path, for the message. */
export function entryNameProblem(path: string, name: string): string | null {
  const bytes = Buffer.byteLength(name)
  if (bytes <= MAX_ENTRY_NAME_BYTES) return null
  return `${path}: the name "${name.slice(0, 40)}..." is ${bytes} bytes; a file or folder name may have at most ${MAX_ENTRY_NAME_BYTES} (longer names cannot be checked out)`
}

/**
 * The refusal of `path`, whose name is NFC-equal to `twin`'s in the same folder. Both are spelled
 * with `\u` escapes: printed as they are, the two would look the same.
 */
export function nfcTwinProblem(path: string, twin: string): string {
  return `${escaped(path)}: the name is the same as "${escaped(twin)}" once Unicode-normalized (NFC); they would be one file on macOS`
}

function escaped(path: string): string {
  return path.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * The names of one folder keyed by NFC form, to find a new name's twin without comparing it
 * with every sibling: built once per folder, on the first new name, then kept up to date.
 */
export class NfcNames {
  private readonly byKey = new Map<string, string>()

  constructor(names: Iterable<string>) {
    for (const name of names) if (!ASCII.test(name)) this.byKey.set(name.normalize('NFC'), name)
  }

  /** A different name in the folder with `name`'s NFC form, or null. `has` tells whether a name is there. */
  twinOf(name: string, has: (name: string) => boolean): string | null {
    const key = nfcKey(name)
    if (key !== name && has(key)) return key
    const twin = this.byKey.get(key)
    return twin !== undefined && twin !== name && has(twin) ? twin : null
  }

  add(name: string): void {
    if (!ASCII.test(name)) this.byKey.set(name.normalize('NFC'), name)
  }

  /** Groups of two or more names in `names` that share an NFC form. */
  static twins(names: string[]): string[][] {
    if (names.every((n) => ASCII.test(n))) return []
    const groups = new Map<string, string[]>()
    for (const name of names) {
      const key = nfcKey(name)
      const group = groups.get(key)
      if (group) group.push(name)
      else groups.set(key, [name])
    }
    return [...groups.values()].filter((g) => g.length > 1)
  }
}
