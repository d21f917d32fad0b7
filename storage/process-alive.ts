/**
 * Whether the process `pid` on this host runs, for start-up sweeps that tell a dead writer's
 * leftovers (named after its pid) from a live one's. Our own pid counts as dead: at start-up, a
 * leftover under it is a previous incarnation's (pid 1 in a container, say).
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
