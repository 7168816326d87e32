// One request to a mode of the shim that is not a container start (the network keeper, connect,
// disconnect): its plan as one line on the control socket, its messages back, its failure as a
// SkiffError. Does I/O (a process).
import { SkiffError } from '../errors.js'
import type { LaunchPlan, ShimMessage } from '../plan.js'
import { shimPath } from '../shim-binary.js'
import { shimErrorToSkiffError } from './shim-errors.js'
import { spawnShimProcess } from './shim-process.js'

export type TaskMessage = ShimMessage | { type: 'ready'; pid: number }

/**
 * `skiff-shim MODE` with `body` as its plan. Resolves with its messages when it exits with status
 * 0, or as soon as one satisfies `until` (the shim then runs on without skiff: the keeper); an
 * error it reports, or another status, rejects.
 */
export function shimTask(mode: string, body: object, until?: (m: TaskMessage) => boolean): Promise<TaskMessage[]> {
  const child = spawnShimProcess(shimPath(), [mode], ['ignore', 'ignore', 'inherit'])
  if (child.error) {
    return Promise.reject(new SkiffError('E_SHIM_EXEC', `cannot start the shim ${shimPath()}: ${child.error.message}`, {
      hint: 'check that the cache directory is not mounted noexec, or set XDG_CACHE_HOME to one that is not',
    }))
  }
  child.send(`${JSON.stringify(body)}\n`)
  return new Promise((resolve, reject) => {
    const messages: TaskMessage[] = []
    let done = false
    const finish = (err?: Error) => {
      if (done) return
      done = true
      child.release()
      if (err) reject(err)
      else resolve(messages)
    }
    child.onLine((line) => {
      const msg = JSON.parse(line) as TaskMessage
      messages.push(msg)
      if (msg.type === 'error') finish(shimErrorToSkiffError(msg, {} as LaunchPlan))
      else if (until?.(msg)) finish()
    })
    child.onClose((code) => {
      if (code === 0 && !until) return finish()
      finish(new SkiffError('E_SHIM', `skiff-shim ${mode} ended with status ${code}${until ? ' before it was ready' : ''}`, { hint: 'run with SKIFF_TRACE=1 to see its steps' }))
    })
  })
}
