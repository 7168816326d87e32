// The seccomp program a container gets: skiff's default profile, none, or a profile file, compiled
// for the container's capabilities (seccomp.ts) and kept by content in a cache directory, since
// compiling costs milliseconds that `run` should not pay each time. Reads and writes the cache.
// (Named by a quick hash, not node:crypto's: loading that module costs `run` about 10 ms. A
// cached program holds everything that went into it and is used only if all of it is equal; for
// the default profile that is SECCOMP_COMPILER in place of its text.)
import { mkdirSync, readFileSync } from 'node:fs'
import { release } from 'node:os'
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { writeFileAtomic } from '../lock.js'
import { capabilityNames } from './capabilities.js'
import type { SeccompProfile } from './seccomp.js'

/**
 * The version of the compiler's output and of the default profile: the cache key holds it, not
 * the default profile's text (hashing that costs `run` a millisecond). Bump it with any change to
 * seccomp.ts or its tables that changes a program, or to seccomp-default.json:
 * test/launch/seccomp.test.ts holds digests of compiled programs and of the profile, and fails
 * until the two agree again.
 */
export const SECCOMP_COMPILER = 2

/** What --security-opt seccomp= chose: skiff's default, none, or a file (its text read by the CLI). */
export type SeccompChoice = 'default' | 'unconfined' | { path: string; text: string }

/** A compiled profile: where it came from ("default" or a path), the program, seccomp(2)'s flags. */
export interface SeccompProgram {
  profile: string
  program: Buffer
  flags: number
}

/**
 * The program for a container whose root holds `caps` (capability numbers), or undefined for
 * unconfined. `cacheDir` keeps compiled programs.
 */
export async function seccompProgram(choice: SeccompChoice, caps: number[], cacheDir: string): Promise<SeccompProgram | undefined> {
  if (choice === 'unconfined') return undefined
  const profile = choice === 'default' ? 'default' : choice.path
  const target = { arch: process.arch, caps: capabilityNames(caps), kernel: release() }
  const key = `${SECCOMP_COMPILER}\n${target.arch}\n${target.kernel}\n${target.caps.join(',')}\n${choice === 'default' ? 'default' : choice.text}`
  const cached = join(cacheDir, `${fnv1a(key, 0x811c9dc5)}${fnv1a(key, 0x01000193)}.json`)
  try {
    const hit = JSON.parse(readFileSync(cached, 'utf8')) as { key: string; program: string; flags: number }
    if (hit.key === key) return { profile, program: Buffer.from(hit.program, 'base64'), flags: hit.flags }
  } catch {
    // not compiled yet (or unreadable): compile and keep it
  }
  // the compiler and the default profile load only now: a cached program needs neither
  const { compileSeccomp } = await import('./seccomp.js')
  const text = choice === 'default' ? (await import('./seccomp-default.js')).DEFAULT_PROFILE : choice.text
  let parsed: SeccompProfile
  try {
    parsed = JSON.parse(text) as SeccompProfile
  } catch (err) {
    throw new SkiffError('E_USAGE', `--security-opt seccomp=${profile}: the profile is not JSON (${(err as Error).message})`, { hint: "a profile is Docker's JSON format (moby's profiles/seccomp/default.json is an example)" })
  }
  let compiled: { program: Buffer; flags: number }
  try {
    compiled = compileSeccomp(parsed, target)
  } catch (err) {
    if (err instanceof SkiffError && choice !== 'default') throw new SkiffError(err.code, `--security-opt seccomp=${profile}: ${err.message.replace(/^seccomp profile: /, '')}`, { hint: err.hint })
    throw err
  }
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 })
    writeFileAtomic(cached, JSON.stringify({ key, program: compiled.program.toString('base64'), flags: compiled.flags }), 0o600, false)
  } catch {
    // a cache that cannot be written costs the next run a compile, nothing else
  }
  return { profile, ...compiled }
}

/** 32-bit FNV-1a of a string's UTF-16 units, as 8 hex digits. */
function fnv1a(text: string, seed: number): string {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h.toString(16).padStart(8, '0')
}
