// SKIFF_TRACE=1: phase timings on stderr, to see where a command spends its time. Does I/O.
// Written with writeSync on fd 2: process.stderr is made on first use (a pipe's stream loads
// net), which would charge ~3 ms to whichever phase came next.
import { writeSync } from 'node:fs'

const enabled = !!process.env.SKIFF_TRACE && process.env.SKIFF_TRACE !== '0'
/** ms since the process started; not performance.now(): the first use of `performance` loads perf_hooks (~1.7 ms) */
const now = () => process.uptime() * 1000
let last = now()
// the shim counts from skiff's start too (CLOCK_MONOTONIC, which hrtime reads), not its own
if (enabled && !process.env.SKIFF_TRACE_ORIGIN) process.env.SKIFF_TRACE_ORIGIN = String(process.hrtime.bigint() - BigInt(Math.round(last * 1e6)))

/** Print the time since skiff started and since the previous mark. */
export function mark(phase: string): void {
  if (!enabled) return
  const at = now()
  try {
    writeSync(2, `skiff trace: ${at.toFixed(1).padStart(7)} ms  +${(at - last).toFixed(1).padStart(5)}  ${phase}\n`)
  } catch {}
  last = at
}

// whether the executable's entry (cmd/sea-main.ts) found a code cache for this command
const codeCache = (globalThis as Record<symbol, unknown>)[Symbol.for('skiff.codeCache')]
if (enabled && typeof codeCache === 'string') {
  try {
    writeSync(2, `skiff trace: code cache ${codeCache}\n`)
  } catch {}
}

// garbage collections, which land in whichever phase runs out of young space
if (enabled) {
  const { PerformanceObserver } = require('node:perf_hooks') as typeof import('node:perf_hooks')
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      try {
        writeSync(2, `skiff trace: ${e.startTime.toFixed(1).padStart(7)} ms  gc ${e.duration.toFixed(1)} ms (kind ${(e.detail as { kind?: number })?.kind})\n`)
      } catch {}
    }
  }).observe({ entryTypes: ['gc'] })
}
