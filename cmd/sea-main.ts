// The single executable's entry: compile skiff's bundle (an asset beside the shim) with a V8 code
// cache that skiff writes itself, then run it. Does I/O.
//
// Most of a command's JavaScript is compiled when it is first called: ~5 ms of every `run` on
// this machine went to parsing and compiling the same functions again. V8 can save what it has
// compiled (`createCachedData`) and take it back at the next start. A cache made at build time
// would hold only the top level (nothing has been called yet), so the first successful run of
// each verb saves one, `$XDG_CACHE_HOME/skiff/code-<digest>.<verb>` (the digest of the bundle and
// Node's version), which every later run of that verb reads. Until then the build's cache of the
// top level (an asset, as Node's own `useCodeCache` would make) serves. V8 rejects a cache of
// another V8, other flags or other source; the command then compiles as if there were none, and
// saves a new one. SKIFF_CODE_CACHE=0 turns the saved ones off.
import { dirname, join } from 'node:path'
import { Script } from 'node:vm'
import { cacheKey, readCodeCache, writeCodeCache } from '../core/code-cache.js'
import { cacheDir } from '../core/paths.js'

declare const SKIFF_BUNDLE_SHA256: string

const sea = require('node:sea') as { getRawAsset(key: string): ArrayBuffer }
// The bundle is ASCII (esbuild escapes the rest; build.mjs checks): read as Latin-1 from the
// asset in place, it is the same text without getAsset's copy and UTF-8 decoding (~0.3 ms).
const source = Buffer.from(sea.getRawAsset('bundle')).toString('latin1')
const argv = process.argv.slice(2)
const key = process.env.SKIFF_CODE_CACHE === '0' ? undefined : cacheKey(argv, process.argv0)
const path = key && join(cacheDir(), `code-${SKIFF_BUNDLE_SHA256}.${key}`)
const saved = path ? readCodeCache(path) : undefined
const cachedData = saved ?? Buffer.from(sea.getRawAsset('bundle-cache'))
// the same text as build.mjs compiles for the built-in cache (V8 checks the length)
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: 'skiff.cjs', cachedData })
const state = `${saved ? 'saved' : 'built-in'}${script.cachedDataRejected ? ', rejected by V8' : ''}`
// for SKIFF_TRACE=1 (core/trace.ts) and the build's check
;(globalThis as Record<symbol, unknown>)[Symbol.for('skiff.codeCache')] = path ? `${state}: ${path}` : state
// `run --help` compiles little of what `run` needs: it would make a poor cache for the verb
if (path && (!saved || script.cachedDataRejected) && !argv.includes('--help')) {
  // after a command that worked: what it compiled is what its next run will need
  process.once('exit', (code) => {
    if (code === 0) writeCodeCache(path, () => script.createCachedData())
  })
}
const bundle = { exports: {} }
script.runInThisContext().call(bundle.exports, bundle.exports, require, bundle, process.execPath, dirname(process.execPath))
