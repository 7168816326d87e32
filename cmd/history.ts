// skiff history [-q] [--no-trunc] [-H] [--format FORMAT] IMAGE
import type { CommandSpec } from './cli.js'
import { ago, humanSize } from './images.js'
import { formatTable, goTime } from './table.js'

interface HistoryArgs {
  image: string
  quiet: boolean
  'no-trunc': boolean
  human: boolean
  format?: string
}

const spec: CommandSpec<HistoryArgs> = {
  usage: 'history [OPTIONS] IMAGE',
  describe: 'Show the history of an image',
  positionals: ['image'],
  required: 1,
  options: [
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'Only show image ids' },
    { name: 'no-trunc', type: 'boolean', default: false, describe: "Don't truncate the output" },
    { name: 'human', alias: 'H', type: 'boolean', default: true, describe: 'Sizes and dates for people (--human=false: bytes and times)' },
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: "json, or a Go template (fields: ID CreatedAt CreatedSince CreatedBy Size Comment)" },
  ],
  handler: async (argv) => {
    const { findImage, openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { imageHistory } = await import('../core/image/history.js')
    const img = await findImage(await openStore(resolvePaths()), argv.image)
    const rows = imageHistory(img)
    const id = (s: string) => (s === '<missing>' || argv['no-trunc'] ? s : s.replace(/^sha256:/, '').slice(0, 12))
    if (argv.quiet) return void process.stdout.write(rows.map((r) => `${id(r.id)}\n`).join(''))
    const createdBy = (s: string) => (argv['no-trunc'] || s.length <= 45 ? s : `${s.slice(0, 44)}…`)
    const view = rows.map((r) => ({
      ID: id(r.id),
      CreatedAt: argv.human ? goTime(r.created) : (r.created ?? ''),
      CreatedSince: argv.human ? ago(r.created) : (r.created ?? ''),
      CreatedBy: createdBy(r.createdBy),
      Size: argv.human ? humanSize(r.size) : String(r.size),
      Comment: r.comment,
    }))
    if (argv.format === 'json') return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
    if (argv.format !== undefined) {
      const { formatRows } = await import('./format.js')
      const headers = { ID: 'IMAGE', CreatedAt: 'CREATED AT', CreatedSince: 'CREATED', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }
      return void process.stdout.write(formatRows(argv.format, view, headers, '{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}'))
    }
    process.stdout.write(formatTable([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...view.map((r) => [r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment])]))
  },
}
export default spec
