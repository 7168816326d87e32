// skiff __storage: storage jobs inside the user namespace (internal; see core/storage/jobs.ts).
import { readFileSync } from 'node:fs'
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ job?: string }> = {
  usage: '__storage',
  describe: 'internal: storage work inside the user namespace',
  options: [{ name: 'job', type: 'string', describe: 'one job as JSON (its layer then arrives on stdin)', hidden: true }],
  positionals: [],
  handler: async (argv) => {
    const { runStorageJobs } = await import('../core/storage/jobs.js')
    const jobs = argv.job ? [JSON.parse(argv.job)] : JSON.parse(readFileSync(0, 'utf8'))
    const results = await runStorageJobs(jobs)
    process.stdout.write(JSON.stringify(results))
  },
}
export default spec
