/**
 * A Xet binary object (xorb, chunk, shard) is malformed or does not match what it claims to be.
 * The message says precisely what is wrong; the CAS routes map this error to a 400.
 */
export class XetFormatError extends Error {
  override name = 'XetFormatError'
}
