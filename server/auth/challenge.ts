import { errors, HubError } from '../errors.js'
import type { Actor } from './access.js'

/**
 * Runs an access decision (`ctx.repos.get`, i.e. `authorize`) in the dialect of git and git-lfs,
 * which send credentials only after a 401 with `WWW-Authenticate`: every 401 carries the challenge,
 * and an anonymous caller who may not see the repo (private or missing) gets that 401 instead of
 * 404 so that git asks its credential helper. Signed-in callers still get 404 (nothing leaks).
 */
export function withChallenge<T>(actor: Actor, decide: () => T): T {
  try {
    return decide()
  } catch (err) {
    if (err instanceof HubError && (err.status === 401 || (err.status === 404 && !actor.user))) throw errors.challenge(err)
    throw err
  }
}
