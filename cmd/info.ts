// skiff info [--format json]: what this machine supports for rootless containers, with fixes.
import { existsSync, realpathSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { ProbeItem, Status, UsernsTrialResult } from '../core/host/probe.js'
import type { LaunchPlan } from '../core/plan.js'
import type { CommandSpec } from './cli.js'

interface InfoArgs {
  format?: string
}

declare const SKIFF_VERSION: string

const MARK: Record<Status, string> = { ok: ' ', warning: '!', error: '✗' }
const RANK: Record<Status, number> = { ok: 0, warning: 1, error: 2 }

/** The worst status of all items. */
export function overall(items: ProbeItem[]): Status {
  return items.reduce<Status>((w, i) => (RANK[i.status] > RANK[w] ? i.status : w), 'ok')
}

/**
 *   host
 *     kernel:           6.18.44
 *   ! user namespaces:  disabled (user.max_user_namespaces = 0)
 *                       fix: sudo sysctl -w user.max_user_namespaces=15000 ...
 */
export function renderText(version: string, items: ProbeItem[]): string {
  const width = Math.max(...items.map((i) => i.name.length)) + 2
  const lines = [`skiff ${version}`]
  let section = ''
  for (const i of items) {
    if (i.section !== section) {
      section = i.section
      lines.push(i.section)
    }
    lines.push(`${MARK[i.status]} ${`${i.name}:`.padEnd(width)} ${i.value}`)
    if (i.fix) lines.push(`  ${' '.repeat(width)} fix: ${i.fix}`)
  }
  const problems = items.filter((i) => i.status !== 'ok')
  const errors = problems.filter((i) => i.status === 'error')
  const summary = errors.length
    ? `not ready: ${errors.map((i) => i.name).join(', ')}`
    : `ready${problems.length ? ` (${problems.length} warning${problems.length > 1 ? 's' : ''}: ${problems.map((i) => i.name).join(', ')})` : ''}`
  lines.push(`rootless containers: ${summary}`)
  return lines.join('\n') + '\n'
}

/** Stable JSON: items keyed by id, each with every key present (fix: null when none). */
export function renderJson(version: string, items: ProbeItem[]): string {
  const out = {
    version,
    status: overall(items),
    items: Object.fromEntries(items.map((i) => [i.id, { name: i.name, section: i.section, status: i.status, value: i.value, fix: i.fix ?? null, details: i.details }])),
  }
  return JSON.stringify(out, null, 2) + '\n'
}

/**
 * The real test: the shim creates a user namespace with the id maps `skiff run` would use, and a
 * mount namespace inside it (which needs capabilities there: Ubuntu's AppArmor restriction lets
 * the user namespace be made but denies them), then runs `skiff --version` (or `node --version`
 * unbundled). The maps are read from /proc while it runs.
 */
async function tryUsernsWithShim(): Promise<UsernsTrialResult> {
  const [{ launch }, { hostIdMap, fallbackIdMap }, { readText }] = await Promise.all([
    import('../core/launch/launch.js'),
    import('../core/launch/identity.js'),
    import('../core/host/tools.js'),
  ])
  const plan = (idmap: LaunchPlan['idmap']): LaunchPlan => ({
    version: 1,
    idmap,
    namespaces: ['mount'],
    rootPropagation: 'rprivate',
    mounts: [],
    process: {
      args: [process.execPath, '--version'],
      env: [`PATH=${process.env.PATH || '/usr/bin:/bin'}`],
      cwd: '/',
      uid: 0,
      gid: 0,
      additionalGids: [],
      terminal: false,
      stdin: false,
      noNewPrivileges: true,
      capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
    },
  })
  const seen: UsernsTrialResult = {}
  const onStart = (pid: number) => {
    seen.uidMap = readText(`/proc/${pid}/uid_map`)
    seen.gidMap = readText(`/proc/${pid}/gid_map`)
  }
  const run = (idmap: LaunchPlan['idmap']) => launch(plan(idmap), { stdio: ['ignore', 'ignore', 'pipe'], onStart })
  let result
  try {
    result = await run(hostIdMap().plan)
  } catch (err) {
    if ((err as { code?: string }).code !== 'E_IDMAP_HELPER') throw err
    seen.fallback = (err as Error).message
    result = await run(fallbackIdMap(seen.fallback).plan)
  }
  if (result.status !== 0) {
    const stderr = (result.stderr ?? '').trim()
    throw new Error(`${process.execPath} --version exited with status ${result.status} inside it${stderr ? `: ${stderr}` : ''}`)
  }
  return seen
}

/** What createContainer would choose now (the overlay probe runs, cached per kernel in the store). */
async function storageDriver(): Promise<{ driver: string; reason: string }> {
  const { chooseDriver, probeOverlay, requestedDriver } = await import('../core/storage/driver.js')
  const { findExecutable, deviceAccess } = await import('../core/host/tools.js')
  const { resolvePaths } = await import('../core/paths.js')
  const requested = requestedDriver(undefined)
  const storage = resolvePaths().storage
  // without a store yet, the probe works in /tmp and nothing is cached
  const overlay = requested ? undefined : await probeOverlay(storage, existsSync(storage) ? `${storage}/tmp` : tmpdir())
  return chooseDriver({ requested, overlay, fuseOverlayfs: findExecutable('fuse-overlayfs'), devFuse: deviceAccess('/dev/fuse').usable })
}

/** Where the AppArmor profile must let the shim in: its own path unless it is the cached copy. */
async function shimForProfile(): Promise<string | undefined> {
  const { isSingleExecutable, shimPath } = await import('../core/shim-binary.js')
  if (isSingleExecutable() && !process.env.SKIFF_SHIM) return undefined
  try {
    return realpathSync(shimPath())
  } catch {
    return shimPath()
  }
}

const spec: CommandSpec<InfoArgs> = {
  usage: 'info [--format json|TEMPLATE]',
  describe: 'Show what this machine supports for rootless containers',
  positionals: [],
  options: [{ name: 'format', alias: 'f', type: 'string', placeholder: 'FORMAT', describe: "json (stable keys), or a Go template: '{{.Status}}', '{{.Items.storageDriver.Value}}'" }],
  handler: async (argv) => {
    // a template is checked before the probes run (a second or so)
    const template = argv.format !== undefined && argv.format !== 'json' ? (await import('./template.js')).parseTemplate(argv.format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')) : undefined
    const { probeHost } = await import('../core/host/probe.js')
    const items = await probeHost({ tryUserns: tryUsernsWithShim, shimForProfile: await shimForProfile(), storageDriver })
    // the profile a `run` here would apply (--profile, SKIFF_PROFILE, or a Slurm job step)
    const { chooseProfile } = await import('../core/launch/profile.js')
    const profile = chooseProfile(undefined, process.env)
    if (!('error' in profile)) items.push({ id: 'profile', name: 'Profile', section: 'host', status: 'ok', value: `${profile.name} (${profile.reason})`, details: { ...profile } })
    else items.push({ id: 'profile', name: 'Profile', section: 'host', status: 'error', value: profile.error, fix: 'set SKIFF_PROFILE to hpc or default, or unset it', details: {} })
    const version = typeof SKIFF_VERSION === 'string' ? SKIFF_VERSION : 'dev'
    if (template) {
      // Docker-style names: {{.Status}}, {{.Items.storageDriver.Value}}
      const value = {
        Version: version,
        Status: overall(items),
        Items: Object.fromEntries(items.map((i) => [i.id, { Name: i.name, Section: i.section, Status: i.status, Value: i.value, Fix: i.fix ?? null, Details: i.details }])),
      }
      const { render } = await import('./template.js')
      return void process.stdout.write(`${render(template, value)}\n`)
    }
    process.stdout.write(argv.format === 'json' ? renderJson(version, items) : renderText(version, items))
  },
}
export default spec
