// skiff search [OPTIONS] TERM
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { parseTlsVerify } from './pull.js'

interface SearchArgs {
  term: string
  limit: number
  filter: string[]
  format?: string
  'no-trunc': boolean
  'tls-verify': string
}

const spec: CommandSpec<SearchArgs> = {
  usage: 'search [OPTIONS] [REGISTRY/]TERM',
  describe: 'Search registries for images',
  positionals: ['term'],
  required: 1,
  options: [
    { name: 'limit', type: 'number', default: 25, placeholder: 'N', describe: 'At most N results (per registry)' },
    { name: 'filter', alias: 'f', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'stars=N, is-official=true|false, is-automated=true|false' },
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: 'json, or a Go template (fields: Index Name Description StarCount IsOfficial IsAutomated)' },
    { name: 'no-trunc', type: 'boolean', default: false, describe: "Don't truncate descriptions" },
    { name: 'tls-verify', type: 'string', default: 'true', placeholder: 'BOOL', describe: 'false: allow plain HTTP and unverified TLS' },
  ],
  handler: async (argv) => {
    if (!Number.isInteger(argv.limit) || argv.limit < 1 || argv.limit > 100) throw new SkiffError('E_USAGE', `--limit ${argv.limit}: from 1 to 100`, { hint: 'e.g. --limit 10' })
    let stars = 0
    let official: boolean | undefined
    let automated: boolean | undefined
    for (const f of argv.filter) {
      const m = /^(stars|is-official|is-automated)=(.*)$/.exec(f)
      const bool = (v: string) => {
        if (v !== 'true' && v !== 'false') throw new SkiffError('E_USAGE', `--filter ${f}: true or false`, { hint: '--filter is-official=true' })
        return v === 'true'
      }
      if (!m) throw new SkiffError('E_USAGE', `--filter ${f}: unknown filter`, { hint: 'stars=N, is-official=true|false, is-automated=true|false' })
      if (m[1] === 'stars') {
        if (!/^\d+$/.test(m[2]!)) throw new SkiffError('E_USAGE', `--filter ${f}: a number of stars`, { hint: '--filter stars=10' })
        stars = Number(m[2])
      } else if (m[1] === 'is-official') official = bool(m[2]!)
      else automated = bool(m[2]!)
    }
    const { searchImages } = await import('../core/image/search.js')
    const results = (await searchImages(argv.term, { limit: argv.limit, tlsVerify: parseTlsVerify(argv['tls-verify']) })).filter(
      (r) => r.StarCount >= stars && (official === undefined || r.IsOfficial === official) && (automated === undefined || r.IsAutomated === automated),
    )
    if (argv.format === 'json') return void process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
    const trunc = (s: string) => (argv['no-trunc'] || s.length <= 45 ? s : `${s.slice(0, 44)}…`)
    // Official: Docker's table column, "[OK]" or nothing
    const view = results.map((r) => ({ ...r, Description: trunc(r.Description.replace(/\s+/g, ' ')), Official: r.IsOfficial ? '[OK]' : '' }))
    const { formatRows } = await import('./format.js')
    const headers = { Index: 'INDEX', Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL', IsAutomated: 'AUTOMATED', Official: 'OFFICIAL' }
    const table = '{{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.Official}}'
    process.stdout.write(formatRows(argv.format ?? `table ${table}`, view, headers, table))
  },
}
export default spec
