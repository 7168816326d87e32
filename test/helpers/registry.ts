// A real registry for tests: Debian's docker-registry on a free 127.0.0.1 port, its data in a
// temporary directory, stopped by the caller.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { tempDir } from './env.js'

export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const p = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return p
}

export interface Registry {
  port: number
  /** host:port */
  host: string
  dir: string
  process: ChildProcess
  stop(): void
}

export async function startRegistry(): Promise<Registry> {
  const dir = tempDir('skiff-registry-')
  const port = await freePort()
  const config = join(dir, 'config.yml')
  writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`)
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => request(`http://127.0.0.1:${port}/v2/`, (res) => r(res.statusCode === 200)).on('error', () => r(false)).end())
    if (ok) break
    await new Promise((r) => setTimeout(r, 50))
  }
  return { port, host: `127.0.0.1:${port}`, dir, process: child, stop: () => child.kill() }
}
