// skiff info [--format json]
import type { CommandSpec } from './cli.js'

interface InfoArgs {
  format?: string
}

declare const SKIFF_VERSION: string

const spec: CommandSpec<InfoArgs> = {
  usage: 'info [--format json]',
  describe: 'Show what this machine supports for rootless containers',
  positionals: [],
  options: [{ name: 'format', type: 'string', placeholder: 'json', describe: 'Print as JSON' }],
  handler: async (argv) => {
    const { probeHost } = await import('../core/host-probe.js')
    const items = probeHost()
    // The real test: start this executable as root of a user namespace with our id maps.
    const { runSelfInUserns } = await import('../core/in-userns.js')
    const at = items.findIndex((i) => i.name === 'id mapping') + 1
    try {
      process.env.SKIFF_QUIET_IDMAP = '1' // info reports the mapping itself
      await runSelfInUserns(['--version'], '')
      items.splice(at, 0, { name: 'user namespace test', status: 'ok', value: 'created one with these id maps' })
    } catch (err) {
      const e = err as Error & { hint?: string }
      items.splice(at, 0, { name: 'user namespace test', status: 'missing', value: `failed: ${e.message}`, fix: e.hint })
    }
    const version = typeof SKIFF_VERSION === 'string' ? SKIFF_VERSION : 'dev'
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify({ version, items }, null, 2) + '\n')
      return
    }
    const width = Math.max(...items.map((i) => i.name.length)) + 2
    const mark = { ok: ' ', warning: '!', missing: '✗' } as const
    const lines = [`skiff ${version}`]
    for (const i of items) {
      lines.push(`${mark[i.status]} ${`${i.name}:`.padEnd(width)}${i.value}`)
      if (i.fix) lines.push(`  ${' '.repeat(width)}fix: ${i.fix.replace(/\n/g, `\n  ${' '.repeat(width)}`)}`)
    }
    process.stdout.write(lines.join('\n') + '\n')
  },
}
export default spec
