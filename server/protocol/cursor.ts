/** Opaque pagination cursors: the last key of the previous page, base64url-encoded with a tag. */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(`v1:${lastKey}`).toString('base64url')
}

/** The key inside a cursor, or null when it was not made by encodeCursor (tampered, truncated). */
export function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,4000}$/.test(cursor)) return null
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  // Re-encoding must give the cursor back: rejects truncation and bytes that are not UTF-8.
  if (!text.startsWith('v1:') || Buffer.from(text).toString('base64url') !== cursor) return null
  return text.slice(3)
}
