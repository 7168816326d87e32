// Remove directory trees whose files belong to mapped ids (layers, container upper dirs). Does I/O.
//
// Each tree is first renamed into tmp/ (atomic: it is gone from the store at once), then all are
// deleted by one `skiff __storage` worker inside the user namespace, where those owners are ours.
// A removal killed halfway leaves only tmp/ debris, which the next load clears.
import { renameSync } from 'node:fs'
import { basename, join } from 'node:path'
import { runSelfInUserns } from '../launch/in-userns.js'
import type { Store } from './store.js'

/** `run`: where the jobs go (a worker that stays, for skiff build); by default a worker of their own. */
export async function removeTrees(store: Store, dirs: string[], kind: string, run: (jobs: unknown[]) => Promise<unknown> = (jobs) => runSelfInUserns(['__storage'], JSON.stringify(jobs))): Promise<void> {
  const doomed: string[] = []
  for (const dir of dirs) {
    const to = join(store.root, 'tmp', `${kind}-${process.pid}-${basename(dir).slice(0, 16)}-${doomed.length}`)
    try {
      renameSync(dir, to)
      doomed.push(to)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  if (doomed.length) await run(doomed.map((path) => ({ op: 'remove', path })))
}
