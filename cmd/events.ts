// skiff events [--since T] [--until T] [--filter K=V] [--format F]: the journal (core/events.ts)
// of every skiff process of this user, then, without --until, what comes (Ctrl-C ends it).
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { EVENTS_FILE, describeEvent, parseEvents, type SkiffEvent } from '../core/events.js'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface EventsArgs {
  since?: string
  until?: string
  filter: string[]
  format?: string
}

export const EVENT_FILTERS = ['container', 'event', 'image', 'label', 'type', 'volume']

const spec: CommandSpec<EventsArgs> = {
  usage: 'events [--since TIME] [--until TIME] [--filter KEY=VALUE] [--format FORMAT]',
  describe: 'Show events of containers, images and volumes, and follow them',
  positionals: [],
  options: [
    { name: 'since', type: 'string', placeholder: 'TIME', describe: 'Events from this time on (RFC 3339, Unix seconds, or 10m ago)' },
    { name: 'until', type: 'string', placeholder: 'TIME', describe: 'Events up to this time; then stop (else: follow)' },
    { name: 'filter', alias: 'f', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'container, event, image, label, type (container, image, volume), volume' },
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: 'json (a JSON object per line), or a Go template: {{.Action}} {{.Actor.ID}}' },
  ],
  handler: async (argv) => {
    const { parseSince } = await import('../core/container/logs.js')
    const { labelsMatch, matchFilters, parseFilters } = await import('../core/filters.js')
    const { resolvePaths } = await import('../core/paths.js')
    const filters = parseFilters(argv.filter, EVENT_FILTERS, 'events')
    for (const t of filters.get('type') ?? []) {
      if (!['container', 'image', 'volume'].includes(t)) throw new SkiffError('E_USAGE', `--filter type=${t}: skiff has container, image and volume events`, { hint: 'e.g. --filter type=container' })
    }
    const since = argv.since !== undefined ? parseSince(argv.since) : undefined
    const until = argv.until !== undefined ? parseSince(argv.until) : undefined
    let render = (e: SkiffEvent) => `${describeEvent(e)}\n`
    if (argv.format === 'json') render = (e) => `${JSON.stringify(e)}\n`
    else if (argv.format !== undefined) {
      const { formatObject } = await import('./format.js')
      const format = argv.format
      render = (e) => formatObject(format, e)
    }
    const attr = (e: SkiffEvent, k: string) => e.Actor.Attributes[k]
    const shown = (e: SkiffEvent) => {
      const ms = e.timeNano / 1e6
      if ((since !== undefined && ms < since) || (until !== undefined && ms > until)) return false
      return matchFilters(filters, (key, v) => {
        switch (key) {
          case 'container':
            return e.Type === 'container' && (attr(e, 'name') === v || e.Actor.ID.startsWith(v))
          case 'event':
            return e.Action === v
          case 'image':
            return e.Type === 'image' ? attr(e, 'name') === v || e.Actor.ID.startsWith(v) : attr(e, 'image') === v
          case 'label':
            return labelsMatch(e.Actor.Attributes, [v])
          case 'type':
            return e.Type === v
          case 'volume':
            return e.Type === 'volume' && e.Actor.ID === v
          default:
            return false
        }
      })
    }
    const path = join(resolvePaths().storage, EVENTS_FILE)
    const read = (p: string) => {
      try {
        return readFileSync(p, 'utf8')
      } catch {
        return ''
      }
    }
    // what is there (the rotated file, then the current one) only with --since, as Docker's
    // events show only what comes without it
    const current = read(path)
    if (since !== undefined) for (const e of parseEvents(read(`${path}.1`) + current)) if (shown(e)) process.stdout.write(render(e))
    if (until !== undefined && until <= Date.now()) return
    // then follow: new bytes of the file, or a new file once it was rotated
    let ino = statOr(path)?.ino
    let offset = Buffer.byteLength(current)
    let partial = ''
    for (;;) {
      if (until !== undefined && Date.now() > until) return
      await new Promise((r) => setTimeout(r, 200))
      const st = statOr(path)
      if (!st) continue
      if (st.ino !== ino) {
        ino = st.ino
        offset = 0
        partial = ''
      }
      if (st.size <= offset) continue
      const fd = openSync(path, 'r')
      const buf = Buffer.alloc(st.size - offset)
      try {
        readSync(fd, buf, 0, buf.length, offset)
      } finally {
        closeSync(fd)
      }
      offset = st.size
      const text = partial + buf.toString('utf8')
      const cut = text.lastIndexOf('\n') + 1
      partial = text.slice(cut)
      for (const e of parseEvents(text.slice(0, cut))) if (shown(e)) process.stdout.write(render(e))
    }
  },
}

function statOr(path: string): { ino: number; size: number } | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

export default spec
