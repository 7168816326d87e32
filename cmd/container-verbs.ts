// start, stop, kill, restart, wait: the verbs that change a container's state. Each is a spec.
import type { CommandSpec } from './cli.js'
import { detachKeysOption, parseDetachKeysOption } from './detach-keys.js'
import { printError } from './report.js'

async function open() {
  const { openStore } = await import('../core/storage/store.js')
  const { resolvePaths } = await import('../core/paths.js')
  return openStore(resolvePaths())
}

/** Run `fn` for every named container; report each failure and go on, as Docker does. */
async function each(names: string[], fn: (name: string) => Promise<void>): Promise<void> {
  let failed: unknown
  for (const name of names) {
    try {
      await fn(name)
    } catch (err) {
      if (names.length === 1) throw err
      printError(err)
      failed = err
    }
  }
  if (failed) process.exitCode = 1
}

export const start: CommandSpec<{ containers: string[]; attach: boolean; all: boolean; 'detach-keys'?: string }> = {
  usage: 'start [-a [--detach-keys KEYS]] CONTAINER [CONTAINER...] | start --all',
  describe: 'Start stopped or created containers',
  positionals: ['containers...'],
  options: [
    { name: 'attach', alias: 'a', type: 'boolean', default: false, describe: "Run in the foreground, with the container's output here" },
    { name: 'all', type: 'boolean', default: false, describe: 'Start every container that is not running (as podman start --all)' },
    detachKeysOption,
  ],
  handler: async (argv) => {
    const { findContainer, listContainers } = await import('../core/container/records.js')
    const { startContainer } = await import('../core/container/start.js')
    const { SkiffError } = await import('../core/errors.js')
    if (argv.all === (argv.containers.length > 0)) {
      throw new SkiffError('E_USAGE', argv.all ? 'start --all starts every stopped container: name none' : 'start needs a container (or --all)', { hint: 'skiff start CONTAINER, or skiff start --all' })
    }
    if (argv.all && argv.attach) throw new SkiffError('E_USAGE', 'start --all cannot attach to several containers', { hint: 'start them detached, or one with -a' })
    const detachKeys = parseDetachKeysOption(argv['detach-keys'])
    const store = await open()
    const names = argv.all ? listContainers(store).filter((c) => c.state.status === 'created' || c.state.status === 'exited').map((c) => c.name) : argv.containers
    await each(names, async (name) => {
      const c = findContainer(store, name)
      if (argv.attach) {
        // undefined: the user detached, and it runs on
        process.exitCode = (await startContainer(store, c, { detach: false, detachKeys })) ?? 0
        return
      }
      await startContainer(store, c, { detach: true })
      process.stdout.write(`${name}\n`)
    })
  },
}

export const stop: CommandSpec<{ containers: string[]; time?: number }> = {
  usage: 'stop [-t SECONDS] CONTAINER [CONTAINER...]',
  describe: 'Stop containers: the stop signal, then SIGKILL after the timeout',
  positionals: ['containers...'],
  required: 1,
  options: [{ name: 'time', alias: 't', type: 'number', placeholder: 'SECONDS', describe: 'Seconds to wait before SIGKILL (default: the container\'s, 10)' }],
  handler: async (argv) => {
    const { findContainer } = await import('../core/container/records.js')
    const { stopContainer } = await import('../core/container/stop.js')
    const store = await open()
    await each(argv.containers, async (name) => {
      const c = findContainer(store, name)
      await stopContainer(store, c, argv.time ?? c.hostConfig.StopTimeout)
      process.stdout.write(`${name}\n`)
    })
  },
}

export const kill: CommandSpec<{ containers: string[]; signal: string }> = {
  usage: 'kill [-s SIGNAL] CONTAINER [CONTAINER...]',
  describe: 'Send a signal to containers (default SIGKILL)',
  positionals: ['containers...'],
  required: 1,
  options: [{ name: 'signal', alias: 's', type: 'string', default: 'KILL', placeholder: 'SIGNAL', describe: 'Signal to send' }],
  handler: async (argv) => {
    const { findContainer } = await import('../core/container/records.js')
    const { parseSignal, signalContainer } = await import('../core/container/stop.js')
    const store = await open()
    const signal = parseSignal(argv.signal)
    await each(argv.containers, async (name) => {
      signalContainer(store, findContainer(store, name), signal)
      process.stdout.write(`${name}\n`)
    })
  },
}

export const restart: CommandSpec<{ containers: string[]; time?: number }> = {
  usage: 'restart [-t SECONDS] CONTAINER [CONTAINER...]',
  describe: 'Stop and start containers again',
  positionals: ['containers...'],
  required: 1,
  options: [{ name: 'time', alias: 't', type: 'number', placeholder: 'SECONDS', describe: 'Seconds to wait before SIGKILL' }],
  handler: async (argv) => {
    const { findContainer } = await import('../core/container/records.js')
    const { stopContainer } = await import('../core/container/stop.js')
    const { startContainer } = await import('../core/container/start.js')
    const store = await open()
    await each(argv.containers, async (name) => {
      const c = findContainer(store, name)
      await stopContainer(store, c, argv.time ?? c.hostConfig.StopTimeout)
      await startContainer(store, c, { detach: true })
      process.stdout.write(`${name}\n`)
    })
  },
}

export const wait: CommandSpec<{ containers: string[]; condition: string[] }> = {
  usage: 'wait [--condition STATE] CONTAINER [CONTAINER...]',
  describe: 'Wait for containers to stop (or reach another state), then print their exit codes',
  positionals: ['containers...'],
  required: 1,
  options: [
    { name: 'condition', type: 'string', array: true, placeholder: 'STATE', describe: 'stopped (the default; also exited, not-running) or running: wait until any of them holds' },
  ],
  handler: async (argv) => {
    const { findContainer, isUp, readState } = await import('../core/container/records.js')
    const { waitStopped } = await import('../core/container/stop.js')
    const { SkiffError } = await import('../core/errors.js')
    const conditions = new Set(argv.condition.map((c) => (c === 'exited' || c === 'not-running' ? 'stopped' : c)))
    if (!conditions.size) conditions.add('stopped')
    for (const c of conditions) {
      if (c !== 'stopped' && c !== 'running') throw new SkiffError('E_USAGE', `--condition ${c}: skiff waits for stopped (exited, not-running) or running`, { hint: 'e.g. --condition running' })
    }
    const store = await open()
    await each(argv.containers, async (name) => {
      const rec = findContainer(store, name)
      for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
        const state = readState(store, rec)
        const up = isUp(state)
        if (conditions.has('running') && state.status === 'running') return void process.stdout.write('-1\n')
        if (conditions.has('stopped') && !up) {
          const done = await waitStopped(store, rec)
          return void process.stdout.write(`${done?.exitCode ?? 0}\n`)
        }
        if (!conditions.has('running')) {
          const done = await waitStopped(store, rec)
          return void process.stdout.write(`${done?.exitCode ?? 0}\n`)
        }
        await new Promise((r) => setTimeout(r, delay))
      }
    })
  },
}
