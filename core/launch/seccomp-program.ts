// The seccomp program a container gets: skiff's default profile, none, or a profile file, compiled
// for the container's capabilities (seccomp.ts) and kept by content in a cache directory, since
// compiling costs milliseconds that `run` should not pay each time. Reads and writes the cache.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { release } from 'node:os'
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { writeFileAtomic } from '../lock.js'
import type { SeccompPlan } from '../plan.js'
import { capabilityNames } from './capabilities.js'
import { compileSeccomp, type SeccompProfile } from './seccomp.js'
import DEFAULT_PROFILE_JSON from './seccomp-default.json' with { type: 'text' }

// esbuild imports the file as its text (parsed only when compiled); TypeScript types it as the object
const DEFAULT_PROFILE = DEFAULT_PROFILE_JSON as unknown as string

/** Bump when the compiler's output changes for the same input: the cache key holds it. */
export const SECCOMP_COMPILER = 1

/** What --security-opt seccomp= chose: skiff's default, none, or a file (its text read by the CLI). */
export type SeccompChoice = 'default' | 'unconfined' | { path: string; text: string }

/**
 * The program for a container whose root holds `caps` (capability numbers), or undefined for
 * unconfined. `cacheDir` holds compiled programs by the digest of all that went into them.
 */
export function seccompPlan(choice: SeccompChoice, caps: number[], cacheDir: string): SeccompPlan | undefined {
  if (choice === 'unconfined') return undefined
  const text = choice === 'default' ? DEFAULT_PROFILE : choice.text
  const profile = choice === 'default' ? 'default' : choice.path
  const target = { arch: process.arch, caps: capabilityNames(caps), kernel: release() }
  const key = createHash('sha256').update(`${SECCOMP_COMPILER}\n${target.arch}\n${target.kernel}\n${target.caps.join(',')}\n${text}`).digest('hex')
  const cached = join(cacheDir, `${key}.json`)
  try {
    return { profile, ...(JSON.parse(readFileSync(cached, 'utf8')) as Omit<SeccompPlan, 'profile'>) }
  } catch {
    // not compiled yet (or unreadable): compile and keep it
  }
  let parsed: SeccompProfile
  try {
    parsed = JSON.parse(text) as SeccompProfile
  } catch (err) {
    throw new SkiffError('E_USAGE', `--security-opt seccomp=${profile}: the profile is not JSON (${(err as Error).message})`, { hint: "a profile is Docker's JSON format (moby's profiles/seccomp/default.json is an example)" })
  }
  let compiled: ReturnType<typeof compileSeccomp>
  try {
    compiled = compileSeccomp(parsed, target)
  } catch (err) {
    if (err instanceof SkiffError && choice !== 'default') throw new SkiffError(err.code, `--security-opt seccomp=${profile}: ${err.message.replace(/^seccomp profile: /, '')}`, { hint: err.hint })
    throw err
  }
  const { program, flags } = compiled
  const out = { program: program.toString('base64'), flags }
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 })
    writeFileAtomic(cached, JSON.stringify(out), 0o600, false)
  } catch {
    // a cache that cannot be written costs the next run a compile, nothing else
  }
  return { profile, ...out }
}
