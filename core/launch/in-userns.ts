// Run this same skiff executable as root of a fresh user namespace with the user's id maps, for
// work that needs the container's ids (unpacking layers, removing their files). Does I/O.
import { capabilityNumbers } from './capabilities.js'
import { SkiffError } from '../errors.js'
import { fallbackIdMap, hostIdMap, warnIdMapOnce } from './identity.js'
import { launch } from './launch.js'
import type { LaunchPlan } from '../plan.js'
import { isSingleExecutable, shimPath } from '../shim-binary.js'

/** argv that starts this skiff again: the executable, or node + the bundle in development. */
export function selfCommand(): string[] {
  return isSingleExecutable() ? [process.execPath] : [process.execPath, process.argv[1]!]
}

/** The plan that runs this skiff (args) as root of a user namespace with `idmap`, SKIFF_SHIM set. */
function selfPlan(args: string[], idmap: LaunchPlan['idmap'], extraEnv: Record<string, string> = {}): LaunchPlan {
  const all = capabilityNumbers(['ALL'])
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  Object.assign(env, { SKIFF_SHIM: shimPath() }, extraEnv)
  return {
    version: 1,
    idmap,
    namespaces: [],
    rootPropagation: 'rprivate',
    mounts: [],
    process: {
      args: [...selfCommand(), ...args],
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      cwd: '/',
      uid: 0,
      gid: 0,
      additionalGids: [],
      terminal: false,
      stdin: true,
      noNewPrivileges: true,
      capabilities: { bounding: all, effective: all, permitted: all, inheritable: [], ambient: [] },
    },
  }
}

export async function runSelfInUserns(args: string[], input: string | NodeJS.ReadableStream, opts: { env?: Record<string, string> } = {}): Promise<{ stdout: string }> {
  let decision = hostIdMap()
  const planFor = (idmap: LaunchPlan['idmap']): LaunchPlan => selfPlan(args, idmap, opts.env)
  warnIdMapOnce(decision)
  let result
  try {
    result = await launch(planFor(decision.plan), { stdio: ['pipe', 'pipe', 'pipe'], ...(typeof input === 'string' ? { input } : { inputStream: input }) })
  } catch (err) {
    if ((err as SkiffError).code !== 'E_IDMAP_HELPER') throw err
    decision = fallbackIdMap((err as SkiffError).message)
    warnIdMapOnce(decision)
    if (typeof input !== 'string') throw err // a stream cannot be read twice
    result = await launch(planFor(decision.plan), { stdio: ['pipe', 'pipe', 'pipe'], input })
  }
  if (result.status !== 0) {
    const stderr = (result.stderr ?? '').trim()
    // The worker reports a SkiffError as "skiff: MESSAGE" and "  hint: HINT" (cmd/main.ts).
    const lines = stderr.split('\n')
    const message = lines.find((l) => l.startsWith('skiff: '))?.slice(7)
    const hint = lines.find((l) => l.startsWith('  hint: '))?.slice(8)
    throw new SkiffError('E_USERNS_WORKER', message ?? `skiff ${args.join(' ')} inside the user namespace failed (status ${result.status})${stderr ? `: ${stderr}` : ''}`, {
      hint: hint ?? 'run again with SKIFF_DEBUG=1 for details',
    })
  }
  return { stdout: result.stdout ?? '' }
}

/** A storage worker that stays (skiff __storage --serve): batch after batch without a new process. */
export interface UsernsWorker {
  /** the jobs run there; resolves to the results' JSON */
  run(jobs: unknown[]): Promise<string>
  close(): Promise<void>
}

/**
 * For commands that send many batches (skiff build: one per step), the worker's start (a shim,
 * the namespace, Node: ~80 ms here) is paid once. Should it fail to start or die, each batch
 * runs in a worker of its own instead (runSelfInUserns), which reports what went wrong.
 */
export function usernsWorker(): UsernsWorker {
  const { PassThrough } = require('node:stream') as typeof import('node:stream')
  const input = new PassThrough()
  const waiting: { resolve: (s: string) => void; reject: (e: Error) => void }[] = []
  let broken = false
  let buffer = ''
  const onStdout = (stdout: NodeJS.ReadableStream) => {
    stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8')
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const next = waiting.shift()
        if (!next) continue
        const msg = JSON.parse(line) as { results?: unknown; error?: string; hint?: string }
        if (msg.error !== undefined) next.reject(new SkiffError('E_USERNS_WORKER', msg.error, { hint: msg.hint ?? 'run again with SKIFF_DEBUG=1 for details' }))
        else next.resolve(JSON.stringify(msg.results))
      }
    })
  }
  const plan = selfPlan(['__storage', '--serve'], hostIdMap().plan)
  const done = launch(plan, { stdio: ['pipe', 'pipe', 'pipe'], inputStream: input, onStdout }).then(
    () => undefined,
    () => undefined,
  ).finally(() => {
    broken = true
    for (const w of waiting.splice(0)) w.reject(new SkiffError('E_USERNS_WORKER', 'the storage worker ended', { hint: 'run again with SKIFF_DEBUG=1 for details' }))
  })
  return {
    async run(jobs) {
      if (!broken) {
        try {
          return await new Promise<string>((resolve, reject) => {
            waiting.push({ resolve, reject })
            input.write(`${JSON.stringify(jobs)}\n`)
          })
        } catch (err) {
          if (!broken) throw err
        }
      }
      return (await runSelfInUserns(['__storage'], JSON.stringify(jobs))).stdout
    },
    async close() {
      input.end()
      await done
    },
  }
}
