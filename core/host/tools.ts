// Small readers the host probes share: a text file or nothing, a program in PATH, a program's
// version, whether a device node opens. Does I/O; parseToolVersion and shellQuote are pure.
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** The file's text, or undefined when it cannot be read (absent knob, no permission). */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** A /proc/sys knob as a number, or undefined when absent. */
export function readNumber(path: string): number | undefined {
  const t = readText(path)?.trim()
  return t !== undefined && /^-?\d+$/.test(t) ? Number(t) : undefined
}

/** Where helpers live even when PATH lacks them (sbin is often missing from a user's PATH). */
export const SYSTEM_BIN_DIRS = ['/usr/local/bin', '/usr/local/sbin', '/usr/bin', '/usr/sbin', '/bin', '/sbin']

/** The first executable regular file called `name` in PATH, then in the system directories. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...SYSTEM_BIN_DIRS]
  for (const dir of new Set(dirs)) {
    const path = join(dir, name)
    try {
      // no exception for the usual miss (ENOENT): one per directory cost `run` ~2 ms here
      if (!statSync(path, { throwIfNoEntry: false })?.isFile()) continue
      accessSync(path, constants.X_OK)
      return path
    } catch {
      continue
    }
  }
  return undefined
}

/** Run a program briefly and collect its output (stdout then stderr); never throws. */
export function runBriefly(path: string, args: string[], timeoutMs = 2000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // loaded here, not at the top: `run` reaches this module, and child_process costs it ~1.5 ms
    const { execFile } = require('node:child_process') as typeof import('node:child_process')
    execFile(path, args, { timeout: timeoutMs, maxBuffer: 64 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0
      resolve({ code, output: `${stdout}${stderr}` })
    })
  })
}

/**
 * The version in a program's `--version` text: the token after "<tool>", "<tool>:" and an optional
 * "version" on the line that names the tool.
 *   parseToolVersion('slirp4netns', 'slirp4netns version 1.2.0\ncommit: 6560...') → '1.2.0'
 *   parseToolVersion('fuse-overlayfs', 'fusermount3 version: 3.14.0\nfuse-overlayfs: version 1.10') → '1.10'
 *   parseToolVersion('pasta', 'pasta 2023_03_09.4ca4ab9\n') → '2023_03_09.4ca4ab9'
 *   parseToolVersion('pasta', 'pasta unknown version\n') → undefined
 */
export function parseToolVersion(tool: string, text: string): string | undefined {
  const name = tool.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const m = new RegExp(`^\\s*${name}:?\\s+(?:version:?\\s+)?(\\S+)`, 'm').exec(text)
  const v = m?.[1]
  return v && /\d/.test(v) ? v.replace(/[,;]$/, '') : undefined
}

/** `tool --version`, parsed; undefined when it fails or says no version. */
export async function toolVersion(path: string, tool: string): Promise<string | undefined> {
  const r = await runBriefly(path, ['--version'])
  return parseToolVersion(tool, r.output)
}

export interface DeviceAccess {
  path: string
  exists: boolean
  /** "0666" */
  mode?: string
  /** the device opened for reading and writing */
  usable: boolean
  /** errno code of the failed open: ENOENT, EACCES, ENODEV ... */
  error?: string
}

/**
 * Whether this user can open a character device for reading and writing: the real test, not just
 * the mode (ACLs, LSMs and device cgroups decide too). Opening /dev/fuse or /dev/net/tun without
 * further ioctls creates nothing.
 */
export function deviceAccess(path: string): DeviceAccess {
  let mode: string | undefined
  try {
    mode = (statSync(path).mode & 0o7777).toString(8).padStart(4, '0')
  } catch (err) {
    return { path, exists: false, usable: false, error: (err as NodeJS.ErrnoException).code }
  }
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_NONBLOCK))
    return { path, exists: true, mode, usable: true }
  } catch (err) {
    return { path, exists: true, mode, usable: false, error: (err as NodeJS.ErrnoException).code }
  }
}

/** The fix for a device node that does not open: load its module, or open up its mode. */
export function deviceFix(d: DeviceAccess, module: string): string {
  if (!d.exists || d.error === 'ENODEV' || d.error === 'ENXIO') return `sudo modprobe ${module}`
  return `sudo chmod 0666 ${d.path} (distributions ship it so; to keep it, a udev rule: KERNEL=="${d.path.split('/').pop()}", MODE="0666")`
}

/** "0666, opens read/write" or "0600, cannot open (EACCES)" */
export function describeDevice(d: DeviceAccess): string {
  if (!d.exists) return 'absent'
  return `${d.mode}, ${d.usable ? 'opens read/write' : `cannot open (${d.error ?? 'error'})`}`
}

/** Quote for a POSIX shell when needed: abc → abc, a b → 'a b', it's → 'it'\''s'. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}
