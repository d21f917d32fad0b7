/** Text made safe inside HTML (the `html` of a comment, a commit's `formatted` title and message). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
