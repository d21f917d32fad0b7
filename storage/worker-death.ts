import type { Worker } from 'node:worker_threads'

/**
 * Once, when `worker` errors or exits: reports it dead (its owner starts a new one for the next
 * job) and fails every job it still had, so no caller waits forever.
 */
export function failJobsOnDeath(worker: Worker, jobs: Map<number, { failed(err: Error): void }>, name: string, onDead: () => void): void {
  let dead = false
  const die = (err: Error) => {
    if (dead) return
    dead = true
    onDead()
    const pending = [...jobs.values()]
    jobs.clear()
    for (const job of pending) job.failed(err)
  }
  worker.on('error', die)
  worker.on('exit', (code) => die(new Error(`${name} exited with code ${code}`)))
}
