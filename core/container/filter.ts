// `ps --filter`: which containers pass Docker's container filters. Pure (lookups come as functions).
//
// Keys: id (a prefix), name (a regular expression), label (KEY or KEY=VALUE, all must hold),
// status, exited (the exit code), ancestor (an image by name or id), before and since (another
// container), volume (a volume's name or a mount's destination), network, publish (a host port,
// PORT/PROTO), expose (a container port), health (skiff has no health checks: none).
import { SkiffError } from '../errors.js'
import { labelsMatch, matchFilters, nameMatches, parseFilters, type Filters } from '../filters.js'
import type { Container } from './records.js'

export const CONTAINER_FILTERS = ['id', 'name', 'label', 'status', 'exited', 'ancestor', 'before', 'since', 'volume', 'network', 'publish', 'expose', 'health']
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none']

export interface FilterLookups {
  /** the id of the image a reference names, if there is one */
  imageId(ref: string): string | undefined
  /** the container a name or id names, if there is one */
  container(ref: string): Container | undefined
}

/** The filters of `ps`, checked: a status or health that does not exist is an error, as Docker's. */
export function containerFilters(values: string[]): Filters {
  const f = parseFilters(values, CONTAINER_FILTERS, 'ps')
  for (const s of f.get('status') ?? []) {
    if (!STATUSES.includes(s)) throw new SkiffError('E_USAGE', `--filter status=${s}: not a status`, { hint: `statuses: ${STATUSES.join(', ')}` })
  }
  for (const h of f.get('health') ?? []) {
    if (!HEALTH.includes(h)) throw new SkiffError('E_USAGE', `--filter health=${h}: not a health state`, { hint: `states: ${HEALTH.join(', ')}` })
  }
  for (const e of f.get('exited') ?? []) {
    if (!/^-?\d+$/.test(e)) throw new SkiffError('E_USAGE', `--filter exited=${e}: not an exit code`, { hint: 'e.g. --filter exited=0' })
  }
  return f
}

function port(spec: string): { port: number; proto?: string } {
  const [p, proto] = spec.split('/')
  return { port: Number(p), proto: proto?.toLowerCase() }
}

/** Whether container `c` passes `filters`. */
export function containerMatches(c: Container, filters: Filters, look: FilterLookups): boolean {
  const status = c.state.paused ? 'paused' : c.state.status
  return matchFilters(filters, (key, v) => {
    switch (key) {
      case 'id':
        return c.id.startsWith(v)
      case 'name':
        return nameMatches(c.name, v)
      case 'label':
        return labelsMatch(c.config.Labels, [v])
      case 'status':
        return status === v
      case 'exited':
        return status === 'exited' && c.state.exitCode === Number(v)
      case 'ancestor': {
        const id = look.imageId(v)
        return id !== undefined ? c.imageId === id : c.image === v
      }
      case 'before':
      case 'since': {
        const other = look.container(v)
        if (!other) throw new SkiffError('E_NO_CONTAINER', `No such container: ${v}`, { hint: `--filter ${key} needs an existing container` })
        return key === 'before' ? c.created < other.created : c.created > other.created
      }
      case 'volume':
        return c.mounts.some((m) => m.Name === v || m.Destination === v || m.Source === v)
      case 'network':
        return (c.network?.mode ?? 'none') === v || (c.network?.networks ?? []).some((n) => n.name === v || n.id === v)
      case 'publish':
      case 'expose': {
        const want = port(v)
        return (c.network?.ports ?? []).some((p) => (key === 'publish' ? p.hostPort : p.containerPort) === want.port && (!want.proto || p.proto === want.proto))
      }
      case 'health':
        return v === 'none'
      default:
        return false
    }
  })
}
