// The direction of imports in core/ (core/README.md): each layer imports only from itself and the
// layers above it, and nothing in core/ imports cmd/. Reads every import, export-from, import(),
// require() and `import type` of every .ts file under core/ and cmd/. Does I/O (reads the tree).
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { repoRoot } from './helpers/env.js'

/** Top to bottom: a layer may import from the ones before it. '' is core/*.ts itself. */
const LAYERS = ['', 'host', 'launch', 'cgroup', 'net', 'storage', 'image', 'container']

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

test.run()
