// skiff logs: the supervisor's log file (CRI format) → the container's output, optionally
// followed. Parsing is pure; reading and following do I/O.
//
// A log line: `2026-11-24T22:40:18.123456789Z stdout F text` (F: a full line, P: a partial one
// whose rest follows). ctr.log.1 holds the lines before the last rotation.
import { closeSync, openSync, readSync, readFileSync, statSync } from 'node:fs'
import { SkiffError } from '../errors.js'

export interface LogEntry {
  time: string
  stream: 'stdout' | 'stderr'
  /** false: the line goes on in the next entry */
  full: boolean
  text: string
}

/**
 *   parseLogLine('2026-11-24T22:40:18.1Z stdout F hi') → { time: '2026-11-24T22:40:18.1Z', stream: 'stdout', full: true, text: 'hi' }
 */
export function parseLogLine(line: string): LogEntry | undefined {
  const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(line)
  if (!m) return undefined
  return { time: m[1]!, stream: m[2] as LogEntry['stream'], full: m[3] === 'F', text: m[4]! }
}

/**
 * Docker's --since/--until: an RFC 3339 time, a Unix time (seconds, with fraction), or a duration
 * before now ("10m", "1h30m", "45s"). Returns milliseconds since the epoch.
 */
export function parseSince(text: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000
  const dur = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text)
  if (dur && text) return now - ((Number(dur[1] ?? 0) * 60 + Number(dur[2] ?? 0)) * 60 + Number(dur[3] ?? 0)) * 1000
  const t = Date.parse(text)
  if (!Number.isNaN(t)) return t
  throw new SkiffError('E_USAGE', `cannot read the time ${JSON.stringify(text)}`, { hint: 'use e.g. 2026-11-24T10:00:00Z, 1764000000, or a duration like 10m or 1h30m' })
}

/** Time of a log entry in ms; the nanoseconds beyond ms are dropped. */
function entryMs(e: LogEntry): number {
  return Date.parse(e.time)
}

export interface LogOptions {
  timestamps: boolean
  /** only entries at or after this time (ms) */
  since?: number
  until?: number
  /** only the last N lines */
  tail?: number
}

/** The entries to print from the whole text of the log files, oldest first. Pure. */
export function selectEntries(text: string, opts: LogOptions): LogEntry[] {
  let entries = text.split('\n').map(parseLogLine).filter((e): e is LogEntry => !!e)
  if (opts.since !== undefined) entries = entries.filter((e) => entryMs(e) >= opts.since!)
  if (opts.until !== undefined) entries = entries.filter((e) => entryMs(e) < opts.until!)
  if (opts.tail !== undefined && opts.tail >= 0) {
    // count whole lines: a partial entry belongs to the full one that ends it
    let lines = 0
    let i = entries.length
    while (i > 0) {
      if (entries[i - 1]!.full) {
        if (lines === opts.tail) break
        lines++
      }
      i--
    }
    entries = entries.slice(i)
  }
  return entries
}

export function formatEntry(e: LogEntry, timestamps: boolean, atLineStart: boolean): string {
  return `${timestamps && atLineStart ? `${e.time} ` : ''}${e.text}${e.full ? '\n' : ''}`
}

export interface LogSink {
  stdout: (s: string) => void
  stderr: (s: string) => void
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/**
 * Print the log, then with `follow` keep printing what is appended until `running()` is false
 * and the file has nothing more. Rotation (the file renamed away) is followed by reopening.
 */
export async function printLogs(logPath: string, opts: LogOptions & { follow: boolean }, running: () => boolean, sink: LogSink): Promise<void> {
  let fd: number | undefined
  let ino = 0
  let offset = 0
  const open = () => {
    try {
      fd = openSync(logPath, 'r')
      ino = statSync(logPath).ino
    } catch {
      fd = undefined
    }
  }
  open()
  // the whole history first: the rotated file, then the current one, read through the fd so
  // following starts exactly where this read ended
  let text = readOr(`${logPath}.1`)
  if (fd !== undefined) {
    const chunks: Buffer[] = []
    const buf = Buffer.alloc(1 << 16)
    for (let n; (n = readSync(fd, buf, 0, buf.length, offset)) > 0; offset += n) chunks.push(Buffer.from(buf.subarray(0, n)))
    text += Buffer.concat(chunks).toString('utf8')
  }
  // an unfinished last line waits for its newline
  let pending = ''
  const cut = text.lastIndexOf('\n')
  if (cut < text.length - 1) {
    pending = text.slice(cut + 1)
    text = text.slice(0, cut + 1)
  }
  let atLineStart = true
  const emit = (e: LogEntry) => {
    ;(e.stream === 'stdout' ? sink.stdout : sink.stderr)(formatEntry(e, opts.timestamps, atLineStart))
    atLineStart = e.full
  }
  for (const e of selectEntries(text, opts)) emit(e)
  if (!opts.follow) return
  const follow = { ...opts, tail: undefined }
  const buf = Buffer.alloc(1 << 16)
  for (let idle = 0; ; ) {
    let got = false
    if (fd !== undefined) {
      const n = readSync(fd, buf, 0, buf.length, offset)
      if (n > 0) {
        offset += n
        got = true
        const chunk = pending + buf.subarray(0, n).toString('utf8')
        const last = chunk.lastIndexOf('\n')
        pending = chunk.slice(last + 1)
        for (const e of selectEntries(chunk.slice(0, last + 1), follow)) emit(e)
      }
    }
    if (got) continue
    // rotated: the name now points to a new file
    try {
      const st = statSync(logPath)
      if (fd === undefined || st.ino !== ino) {
        if (fd !== undefined) closeSync(fd)
        offset = 0
        open()
        continue
      }
    } catch {}
    if (!running()) {
      // one more look after it stopped: the supervisor drains the pipes before it exits
      if (++idle > 2) break
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  if (fd !== undefined) closeSync(fd)
}
