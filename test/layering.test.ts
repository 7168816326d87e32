// The direction of imports in core/ (core/README.md): each layer imports only from itself and the
// layers above it, and nothing in core/ imports cmd/. Reads every import, export-from, import(),
// require() and `import type` of every .ts file under core/ and cmd/. And the same for the shim
// (shims/README.md): main.c on top, the process roles, then what they use, util.c and json.c at
// the bottom, read from the symbols each compiled file needs. Does I/O (reads the tree, runs cc).
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { probe, repoRoot, requireEnv, tempDir } from './helpers/env.js'

/** Top to bottom: a layer may import from the ones before it. '' is core/*.ts itself. */
const LAYERS = ['', 'host', 'launch', 'cgroup', 'net', 'storage', 'image', 'container', 'build', 'runtime']

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

/** The relative modules a file imports, as repository paths ("core/host/tools.ts"). */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = []
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g
  for (const m of text.matchAll(re)) {
    out.push(relative(repoRoot, resolve(dirname(file), m[2]!.replace(/\.js$/, '.ts'))))
  }
  return out
}

/** "core/host/tools.ts" → "host"; "core/lock.ts" → ""; outside core: undefined. */
function layerOf(path: string): string | undefined {
  const m = /^core\/(?:([^/]+)\/)?[^/]+\.ts$/.exec(path)
  return m ? (m[1] ?? '') : undefined
}

test('every folder of core/ is a known layer, and core/README.md lists them in this order', () => {
  const folders = readdirSync(join(repoRoot, 'core'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)
  for (const f of folders) assert.ok(LAYERS.includes(f), `core/${f}/ is in no layer: add it to LAYERS and core/README.md`)
  const readme = readFileSync(join(repoRoot, 'core', 'README.md'), 'utf8')
  const listed = [...readme.matchAll(/^\d+\. `([a-z]+)\/`$/gm)].map((m) => m[1])
  assert.equal(listed, LAYERS.slice(1))
})

test('imports go only up the layers, never from core into cmd', () => {
  const wrong: string[] = []
  let seen = 0
  for (const file of [...sources(join(repoRoot, 'core')), ...sources(join(repoRoot, 'cmd'))]) {
    const from = relative(repoRoot, file)
    const fromLayer = layerOf(from)
    for (const to of importsOf(file, readFileSync(file, 'utf8'))) {
      seen++
      if (fromLayer === undefined) continue // cmd/ may use any of core
      if (to.startsWith('cmd/')) {
        wrong.push(`${from} imports ${to}: core never imports cmd`)
        continue
      }
      const toLayer = layerOf(to)
      if (toLayer === undefined) continue
      if (LAYERS.indexOf(toLayer) > LAYERS.indexOf(fromLayer)) {
        wrong.push(`${from} (${fromLayer || 'core'}) imports ${to} (${toLayer}), a layer below it`)
      }
    }
  }
  assert.ok(seen > 300, `only ${seen} imports found: the scan is broken`)
  assert.equal(wrong, [], wrong.join('\n'))
})

test('the scan sees every form of import', () => {
  const file = join(repoRoot, 'core', 'container', 'x.ts')
  const text = [
    "import { a } from '../lock.js'",
    "import type { B } from '../host/types.js'",
    "export { c } from './records.js'",
    "const d = await import('../image/pull.js')",
    "const e = require('../storage/store.js') as typeof import('../net/setup.js')",
    "import '../trace.js'",
  ].join('\n')
  assert.equal(importsOf(file, text), ['core/lock.ts', 'core/host/types.ts', 'core/container/records.ts', 'core/image/pull.ts', 'core/storage/store.ts', 'core/net/setup.ts', 'core/trace.ts'])
})

/** The shim's files by level: a file may use what files of its own level or a lower one define. */
const SHIM_LEVELS: Record<string, number> = {
  'main.c': 0,
  'outer.c': 1, 'supervise.c': 1, 'holder.c': 1, 'waiter.c': 1, 'init.c': 1, 'exec.c': 1, 'fsops.c': 1,
  'keeper.c': 1, 'oci.c': 1,
  'mounts.c': 2, 'net.c': 2, 'netlink.c': 2, 'dns.c': 2, 'fuse.c': 2, 'tar.c': 2, 'hooks.c': 2,
  'json.c': 3, 'util.c': 3,
}

test('the shim: each file uses only its own level and those below it; none is over 600 lines', () => {
  if (!requireEnv('the shim\'s layering', probe.command('cc', 'gcc').ok && probe.command('nm', 'binutils').ok, 'cc and nm are needed: apt-get install gcc binutils')) return
  const dir = join(repoRoot, 'shims')
  const files = readdirSync(dir).filter((f) => f.endsWith('.c'))
  for (const f of files) assert.ok(f in SHIM_LEVELS, `shims/${f} has no level: add it to SHIM_LEVELS and shims/README.md`)
  const out = tempDir()
  const definedIn = new Map<string, string>()
  const needs = new Map<string, string[]>()
  for (const f of files) {
    const lines = readFileSync(join(dir, f), 'utf8').split('\n').length
    assert.ok(lines <= 600, `shims/${f} has ${lines} lines`)
    const obj = join(out, `${f}.o`)
    const cc = spawnSync('cc', ['-c', '-O0', '-o', obj, join(dir, f)], { encoding: 'utf8' })
    assert.is(cc.status, 0, cc.stderr)
    const nm = (args: string[]) => spawnSync('nm', [...args, obj], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((p) => p.length >= 2)
    for (const p of nm(['--defined-only', '--extern-only'])) definedIn.set(p[2]!, f)
    needs.set(f, nm(['--undefined-only']).map((p) => p[1]!))
  }
  const wrong: string[] = []
  for (const [f, symbols] of needs) {
    for (const sym of symbols) {
      const owner = definedIn.get(sym)
      if (owner && SHIM_LEVELS[owner]! < SHIM_LEVELS[f]!) wrong.push(`shims/${f} uses ${sym} of shims/${owner}, a level above it`)
    }
  }
  assert.ok(definedIn.size > 50, 'the scan found few symbols: it is broken')
  assert.equal(wrong, [], wrong.join('\n'))
})

test.run()
