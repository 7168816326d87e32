// skiff __storage: storage jobs inside the user namespace (internal; see core/storage/jobs.ts).
// One batch (a JSON array on stdin, the results on stdout), one job with its layer on stdin
// (--job), or with --serve batch after batch, one JSON line each way, until stdin ends.
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ job?: string; serve: boolean }> = {
  usage: '__storage',
  describe: 'internal: storage work inside the user namespace',
  options: [
    { name: 'job', type: 'string', describe: 'one job as JSON (its layer then arrives on stdin)', hidden: true },
    { name: 'serve', type: 'boolean', default: false, describe: 'batches as JSON lines on stdin, results as JSON lines on stdout', hidden: true },
  ],
  positionals: [],
  handler: async (argv) => {
    const { runStorageJobs } = await import('../core/storage/jobs.js')
    if (argv.serve) {
      for await (const line of createInterface({ input: process.stdin })) {
        if (!line.trim()) continue
        try {
          process.stdout.write(`${JSON.stringify({ results: await runStorageJobs(JSON.parse(line)) })}\n`)
        } catch (err) {
          const e = err as { message?: string; hint?: string }
          process.stdout.write(`${JSON.stringify({ error: e.message ?? String(err), hint: e.hint })}\n`)
        }
      }
      return
    }
    const jobs = argv.job ? [JSON.parse(argv.job)] : JSON.parse(readFileSync(0, 'utf8'))
    const results = await runStorageJobs(jobs)
    process.stdout.write(JSON.stringify(results))
  },
}
export default spec
