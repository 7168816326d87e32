// SKIFF_TRACE=1: phase timings on stderr, to see where a command spends its time. Does I/O.
const enabled = !!process.env.SKIFF_TRACE
let last = performance.now()

/** Print the time since skiff started and since the previous mark. */
export function mark(phase: string): void {
  if (!enabled) return
  const now = performance.now()
  process.stderr.write(`skiff trace: ${now.toFixed(1).padStart(7)} ms  +${(now - last).toFixed(1).padStart(5)}  ${phase}\n`)
  last = now
}
