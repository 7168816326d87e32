// SKIFF_TRACE=1: phase timings on stderr, to see where a command spends its time. Does I/O.
// Written with writeSync on fd 2: process.stderr is made on first use (a pipe's stream loads
// net), which would charge ~3 ms to whichever phase came next.
import { writeSync } from 'node:fs'

const enabled = !!process.env.SKIFF_TRACE
let last = performance.now()

/** Print the time since skiff started and since the previous mark. */
export function mark(phase: string): void {
  if (!enabled) return
  const now = performance.now()
  try {
    writeSync(2, `skiff trace: ${now.toFixed(1).padStart(7)} ms  +${(now - last).toFixed(1).padStart(5)}  ${phase}\n`)
  } catch {}
  last = now
}
