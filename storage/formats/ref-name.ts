/** git check-ref-format, the parts that matter for names we accept (pure: the API's rules and the push checks both use it). */
export function validRefName(ref: string): boolean {
  if (ref.length === 0 || ref.length > 255) return false
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return false
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//')) return false
  if (ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.')) return false
  return !ref.split('/').some((s) => s.startsWith('.') || s.endsWith('.lock'))
}
