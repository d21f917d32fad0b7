/**
 * File-level planning over a file's terms (docs/xet-protocol.md §6.1, §6.2): which chunks of which xorbs hold a
 * byte range, and where their packed bytes are. Pure: chunk tables come from the caller's index.
 *
 * Xorb hashes may be raw Buffers or string forms; the plan hands back whichever it was given.
 */
import { hashToHex } from './hash.js'

export type XorbRef = Buffer | string

export interface PlanTermInput<H extends XorbRef = XorbRef> {
  xorbHash: H
  chunkStart: number
  /** Exclusive. */
  chunkEnd: number
  unpackedBytes: number
}

/**
 * One chunk of a xorb's table: its unpacked length and packed byte span (header + payload), given
 * either as offset + length or as start + exclusive end.
 */
export type PlanChunk = { unpackedLength: number } & ({ packedOffset: number; packedLength: number } | { packedStart: number; packedEnd: number })

export interface PlannedTerm<H extends XorbRef = XorbRef> {
  xorbHash: H
  chunkStart: number
  /** Exclusive. */
  chunkEnd: number
  /** Exact decompressed size of chunks [chunkStart, chunkEnd). */
  unpackedLength: number
  /** Packed byte span of those chunks inside the xorb's chunk data. */
  packedStart: number
  packedEndExclusive: number
  /** Unpacked length of each kept chunk, in order (lets the reader check every chunk). */
  chunkLengths: number[]
}

export interface RangePlan<H extends XorbRef = XorbRef> {
  /** Bytes to skip in the decompressed output of the first term. */
  offsetIntoFirstRange: number
  terms: PlannedTerm<H>[]
  /** The range actually planned, end clamped to the file: [start, end] inclusive. */
  start: number
  end: number
}

/** Sum of the terms' unpacked sizes. */
export function fileLength(terms: readonly { unpackedBytes: number }[]): number {
  let n = 0
  for (const t of terms) n += t.unpackedBytes
  return n
}

const keyOf = (h: XorbRef): string => (typeof h === 'string' ? h.toLowerCase() : hashToHex(h))
const spanStart = (c: PlanChunk): number => ('packedOffset' in c ? c.packedOffset : c.packedStart)
const spanEnd = (c: PlanChunk): number => ('packedOffset' in c ? c.packedOffset + c.packedLength : c.packedEnd)

/**
 * Plans bytes `[start, endInclusive]` of a file (docs/xet-protocol.md §6.2): the terms trimmed to the chunks that
 * hold the range, each with its packed byte span, and the bytes to skip in the first. `end` is
 * clamped to the file size; `start` must lie inside the file (a RangeError otherwise — the caller
 * answers 416, or handles the empty file). `chunkTables` is keyed by xorb hash string form.
 * Throws an Error when the index is inconsistent (missing table, range or sizes not matching).
 */
export function planRange<H extends XorbRef>(
  terms: readonly PlanTermInput<H>[],
  chunkTables: ReadonlyMap<string, readonly PlanChunk[]>,
  start: number,
  endInclusive: number,
): RangePlan<H> {
  const size = fileLength(terms)
  if (!Number.isSafeInteger(start) || start < 0 || start >= size) throw new RangeError(`range start ${start} outside the file (${size} bytes)`)
  if (!Number.isSafeInteger(endInclusive) || endInclusive < start) throw new RangeError(`range end ${endInclusive} before start ${start}`)
  const end = Math.min(endInclusive, size - 1)
  const out: PlannedTerm<H>[] = []
  let offsetIntoFirstRange = 0
  let pos = 0
  for (const [i, term] of terms.entries()) {
    const termEnd = pos + term.unpackedBytes
    if (termEnd <= start) {
      pos = termEnd
      continue
    }
    if (pos > end) break
    const key = keyOf(term.xorbHash)
    const table = chunkTables.get(key)
    if (!table) throw new Error(`no chunk table for xorb ${key} (term ${i})`)
    if (term.chunkStart >= term.chunkEnd || term.chunkEnd > table.length) {
      throw new Error(`term ${i} chunk range [${term.chunkStart}, ${term.chunkEnd}) does not fit xorb ${key} (${table.length} chunks)`)
    }
    let sum = 0
    for (let c = term.chunkStart; c < term.chunkEnd; c++) sum += table[c]!.unpackedLength
    if (sum !== term.unpackedBytes) throw new Error(`term ${i} says ${term.unpackedBytes} bytes, chunks of xorb ${key} hold ${sum}`)
    let cPos = pos
    let first = -1
    let last = -1
    const chunkLengths: number[] = []
    for (let c = term.chunkStart; c < term.chunkEnd; c++) {
      const len = table[c]!.unpackedLength
      if (cPos + len <= start) {
        cPos += len
        continue
      }
      if (cPos > end) break
      if (first < 0) {
        first = c
        if (out.length === 0) offsetIntoFirstRange = start - cPos
      }
      last = c
      chunkLengths.push(len)
      cPos += len
    }
    out.push({
      xorbHash: term.xorbHash,
      chunkStart: first,
      chunkEnd: last + 1,
      unpackedLength: chunkLengths.reduce((a, b) => a + b, 0),
      packedStart: spanStart(table[first]!),
      packedEndExclusive: spanEnd(table[last]!),
      chunkLengths,
    })
    pos = termEnd
  }
  return { offsetIntoFirstRange, terms: out, start, end }
}

/** A packed range of one xorb covering several planned terms. */
export interface MergedXorbRange {
  chunkStart: number
  chunkEnd: number
  packedStart: number
  packedEndExclusive: number
}

/**
 * Per xorb (keyed by string form), the planned terms' chunk ranges with overlapping or adjacent
 * ones merged (docs/xet-protocol.md §6.2 step 4); every term lies inside one merged range. Sorted by chunk start.
 */
export function mergeXorbRanges(terms: readonly PlannedTerm[]): Map<string, MergedXorbRange[]> {
  const by = new Map<string, MergedXorbRange[]>()
  for (const t of terms) {
    const k = keyOf(t.xorbHash)
    const list = by.get(k) ?? []
    list.push({ chunkStart: t.chunkStart, chunkEnd: t.chunkEnd, packedStart: t.packedStart, packedEndExclusive: t.packedEndExclusive })
    by.set(k, list)
  }
  for (const [k, list] of by) {
    list.sort((a, b) => a.chunkStart - b.chunkStart)
    const merged: MergedXorbRange[] = []
    for (const r of list) {
      const prev = merged[merged.length - 1]
      if (prev && r.chunkStart <= prev.chunkEnd) {
        if (r.chunkEnd > prev.chunkEnd) {
          prev.chunkEnd = r.chunkEnd
          prev.packedEndExclusive = r.packedEndExclusive
        }
      } else {
        merged.push({ ...r })
      }
    }
    by.set(k, merged)
  }
  return by
}
