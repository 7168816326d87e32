// How a pull reports itself: plain lines (logs, pipes, CI) or Docker-style per-layer bars on a
// terminal, redrawn in place at most ten times a second. Does I/O (writes to the given stream).
export interface PullProgress {
  message(line: string): void
  /** a blob starts downloading */
  start(id: string, total: number): void
  /** `bytes` more arrived */
  advance(id: string, bytes: number): void
  /** a blob is finished: "Download complete", "Already exists" */
  done(id: string, note: string): void
  finish(): void
}

export const quietProgress: PullProgress = { message() {}, start() {}, advance() {}, done() {}, finish() {} }

export function plainProgress(write: (s: string) => void): PullProgress {
  return {
    message: (line) => write(`${line}\n`),
    start() {},
    advance() {},
    done: (id, note) => write(`${id}: ${note}\n`),
    finish() {},
  }
}

function size(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}kB` : `${n}B`
}

/** "[=====>      ] 1.2MB/3.4MB" */
export function bar(have: number, total: number, width = 30): string {
  const f = total > 0 ? Math.min(1, have / total) : 0
  const full = Math.floor(f * width)
  return `[${'='.repeat(full)}${full < width ? '>' : ''}${' '.repeat(Math.max(0, width - full - 1))}] ${size(have)}/${size(total)}`
}

export function terminalProgress(stream: NodeJS.WriteStream): PullProgress {
  const rows = new Map<string, { have: number; total: number; note?: string }>()
  let drawn = 0
  let last = 0
  const draw = (force = false) => {
    const now = Date.now()
    if (!force && now - last < 100) return
    last = now
    let out = drawn ? `\x1b[${drawn}A` : ''
    for (const [id, r] of rows) out += `\x1b[2K${id}: ${r.note ?? `Downloading ${bar(r.have, r.total)}`}\n`
    drawn = rows.size
    stream.write(out)
  }
  return {
    message: (line) => {
      stream.write(`${line}\n`)
    },
    start: (id, total) => {
      rows.set(id, { have: 0, total })
      draw(true)
    },
    advance: (id, bytes) => {
      const r = rows.get(id)
      if (r) r.have += bytes
      draw()
    },
    done: (id, note) => {
      const r = rows.get(id) ?? { have: 0, total: 0 }
      r.note = note
      rows.set(id, r)
      draw(true)
    },
    finish: () => draw(true),
  }
}
