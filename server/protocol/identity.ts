import type { Identity } from '../../storage/git/git-repo.js'

/** Commit author for a user: `<name> <name@users.noreply.<host>>`, as on the Hub (docs/hub-api.md §6.3). */
export function authorOf(username: string, publicUrl: string): Identity {
  return { name: username, email: `${username}@users.noreply.${new URL(publicUrl).hostname}` }
}
