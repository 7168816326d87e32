// Networking: the user-mode network helpers (pasta, slirp4netns), /dev/net/tun, and the sysctls
// that decide ping and low ports. gatherNet does I/O (stat, open, `--version`); the rest is pure.
import type { HostContext, ProbeItem } from './types.js'
import { describeDevice, deviceAccess, deviceFix, findExecutable, readText, toolVersion, type DeviceAccess } from './tools.js'

export interface Tool {
  path: string
  /** from `--version`; undefined when it prints none (Debian's pasta says "unknown version") */
  version?: string
}

export interface NetFacts {
  pasta?: Tool
  slirp4netns?: Tool
  devNetTun: DeviceAccess
  /** net.ipv4.ping_group_range: the gids allowed ICMP echo sockets */
  pingGroupRange?: [number, number]
  /** net.ipv4.ip_unprivileged_port_start */
  unprivilegedPortStart?: number
}

/** "1\t0\n" → [1, 0] (the default: nobody); unparsable → undefined. */
export function parsePingGroupRange(text: string): [number, number] | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text)
  return m ? [Number(m[1]), Number(m[2])] : undefined
}

/** The kernel allows a ping socket when any of the caller's groups is in the range. */
export function pingAllowed(range: [number, number] | undefined, groups: number[]): boolean {
  return !!range && groups.some((g) => g >= range[0] && g <= range[1])
}

async function tool(name: string, env: NodeJS.ProcessEnv): Promise<Tool | undefined> {
  const path = findExecutable(name, env)
  return path ? { path, version: await toolVersion(path, name) } : undefined
}

export async function gatherNet(ctx: Pick<HostContext, 'env'>): Promise<NetFacts> {
  const [pasta, slirp4netns] = await Promise.all([tool('pasta', ctx.env), tool('slirp4netns', ctx.env)])
  const port = readText('/proc/sys/net/ipv4/ip_unprivileged_port_start')?.trim()
  return {
    pasta,
    slirp4netns,
    devNetTun: deviceAccess('/dev/net/tun'),
    pingGroupRange: parsePingGroupRange(readText('/proc/sys/net/ipv4/ping_group_range') ?? ''),
    unprivilegedPortStart: port && /^\d+$/.test(port) ? Number(port) : undefined,
  }
}

const INSTALL = {
  pasta: 'Debian/Ubuntu: sudo apt install passt; Fedora/RHEL: sudo dnf install passt',
  slirp4netns: 'Debian/Ubuntu: sudo apt install slirp4netns; Fedora/RHEL: sudo dnf install slirp4netns',
}

function describeTool(t: Tool): string {
  return `${t.path} (${t.version ? `version ${t.version}` : 'version unknown'})`
}

/** pasta and slirp4netns: either one gives containers a network; pasta is preferred (faster). */
export function judgeNetHelpers(n: Pick<NetFacts, 'pasta' | 'slirp4netns'>): ProbeItem[] {
  const none = !n.pasta && !n.slirp4netns
  const one = (id: 'pasta' | 'slirp4netns', other: 'pasta' | 'slirp4netns'): ProbeItem => {
    const t = n[id]
    const details = { path: t?.path ?? null, version: t?.version ?? null }
    const base = { id, name: id, section: 'network' as const, details }
    if (t) return { ...base, status: 'ok', value: describeTool(t) }
    if (!none) return { ...base, status: 'ok', value: `not installed (${other} is used)` }
    return { ...base, status: 'warning', value: 'not installed: containers get no network but --network=host or none', fix: INSTALL[id] }
  }
  return [one('pasta', 'slirp4netns'), one('slirp4netns', 'pasta')]
}

export function judgeDevNetTun(n: Pick<NetFacts, 'devNetTun' | 'pasta' | 'slirp4netns'>): ProbeItem {
  const d = n.devNetTun
  const details = { path: d.path, exists: d.exists, mode: d.mode ?? null, usable: d.usable, error: d.error ?? null }
  const base = { id: 'devNetTun', name: '/dev/net/tun', section: 'network' as const, details }
  if (d.usable) return { ...base, status: 'ok', value: describeDevice(d) }
  if (!n.pasta && !n.slirp4netns) return { ...base, status: 'ok', value: `${describeDevice(d)} (needed only by pasta and slirp4netns)` }
  return { ...base, status: 'warning', value: `${describeDevice(d)}: pasta and slirp4netns need it`, fix: deviceFix(d, 'tun') }
}

export function judgePing(n: Pick<NetFacts, 'pingGroupRange'>, ctx: Pick<HostContext, 'uid' | 'groups'>): ProbeItem {
  const r = n.pingGroupRange
  const allowed = pingAllowed(r, ctx.groups)
  const details = { pingGroupRange: r ?? null, groups: ctx.groups, allowed }
  const base = { id: 'ping', name: 'ping', section: 'network' as const, details }
  const range = r ? `${r[0]} ${r[1]}` : 'unknown'
  if (ctx.uid === 0) return { ...base, status: 'ok', value: 'allowed (root has raw sockets)' }
  if (allowed) return { ...base, status: 'ok', value: `allowed (net.ipv4.ping_group_range = ${range})` }
  return {
    ...base,
    status: 'warning',
    value: `not allowed for your groups (net.ipv4.ping_group_range = ${range}): ping in containers fails`,
    fix: `sudo sysctl -w net.ipv4.ping_group_range="0 2147483647" (keep it in /etc/sysctl.d/)`,
  }
}

export function judgePorts(n: Pick<NetFacts, 'unprivilegedPortStart'>, ctx: Pick<HostContext, 'uid'>): ProbeItem {
  const start = n.unprivilegedPortStart
  const details = { unprivilegedPortStart: start ?? null }
  const base = { id: 'unprivilegedPorts', name: 'host ports', section: 'network' as const, status: 'ok' as const, details }
  if (ctx.uid === 0) return { ...base, value: 'any (root)' }
  if (start === undefined) return { ...base, value: '1024 and up (net.ipv4.ip_unprivileged_port_start unknown)' }
  if (start === 0) return { ...base, value: 'any (net.ipv4.ip_unprivileged_port_start = 0)' }
  return { ...base, value: `${start} and up (lower ones: sudo sysctl net.ipv4.ip_unprivileged_port_start=N)` }
}
