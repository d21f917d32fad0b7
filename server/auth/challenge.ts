import { errors, HubError } from '../errors.js'
import type { Actor } from './access.js'

/**
 * An access decision's error (`authorize`) in the dialect of git and git-lfs, which send
 * credentials only after a 401 with `WWW-Authenticate`: every 401 carries the challenge, and an
 * anonymous caller who may not see the repo (private or missing) gets that 401 instead of 404 so
 * that git asks its credential helper. Signed-in callers still get 404 (nothing leaks).
 */
export function challenged(actor: Actor, err: unknown): unknown {
  if (err instanceof HubError && (err.status === 401 || (err.status === 404 && !actor.user))) return errors.challenge(err)
  return err
}
