// The events journal (`skiff events`): one JSON line per event, in Docker's shape, appended to
// events.log in the store by every skiff command and by the supervisors (shims/outer.c writes
// "die"), so that a reader sees the events of every process of the user. Does I/O.
//
// An append of one line is one write(2) with O_APPEND: Linux holds the file's lock for the whole
// write, so lines of two writers never mix. Past 1 MiB the file is renamed to events.log.1 (the
// one before is dropped); a reader that follows notices the new file by its inode.
import { closeSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { nowNs } from './clock.js'

export const EVENTS_FILE = 'events.log'
const ROTATE_AT = 1 << 20

export interface SkiffEvent {
  Type: 'container' | 'image' | 'volume' | 'network'
  Action: string
  Actor: { ID: string; Attributes: Record<string, string> }
  scope: 'local'
  time: number
  timeNano: number
  /** Docker's older fields, which some clients still read */
  status?: string
  id?: string
  from?: string
}

/** An event as Docker writes it. */
export function makeEvent(type: SkiffEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}, timeNano = nowNs()): SkiffEvent {
  const e: SkiffEvent = { Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: Math.floor(timeNano / 1e9), timeNano }
  if (type === 'container') {
    e.status = action
    e.id = id
    if (attributes.image) e.from = attributes.image
  }
  return e
}

/** Append `event` to the journal in `storeRoot`. Never fails the command: the journal is a record, not a duty. */
export function recordEvent(storeRoot: string, event: SkiffEvent): void {
  const path = join(storeRoot, EVENTS_FILE)
  try {
    try {
      if (statSync(path).size > ROTATE_AT) renameSync(path, `${path}.1`)
    } catch {}
    const fd = openSync(path, 'a', 0o600)
    try {
      writeSync(fd, `${JSON.stringify(event)}\n`)
    } finally {
      closeSync(fd)
    }
  } catch {}
}

/** The lines of a journal text → events (a torn or foreign line is skipped). */
export function parseEvents(text: string): SkiffEvent[] {
  const out: SkiffEvent[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      const e = JSON.parse(line) as SkiffEvent
      if (e && typeof e.timeNano === 'number' && e.Actor) out.push(e)
    } catch {}
  }
  return out
}

/**
 * The exit code in the last "die" of container `id` at or after `sinceNs`, from the journal's
 * last 64 KiB: what a --rm container leaves once its directory is gone.
 */
export function lastExitCode(storeRoot: string, id: string, sinceNs: number): number | undefined {
  let text = ''
  try {
    const fd = openSync(join(storeRoot, EVENTS_FILE), 'r')
    try {
      const size = statSync(join(storeRoot, EVENTS_FILE)).size
      const buf = Buffer.alloc(Math.min(size, 1 << 16))
      readSync(fd, buf, 0, buf.length, size - buf.length)
      text = buf.toString('utf8')
    } finally {
      closeSync(fd)
    }
  } catch {
    return undefined
  }
  const die = parseEvents(text).reverse().find((e) => e.Action === 'die' && e.Actor.ID === id && e.timeNano >= sinceNs)
  const code = die ? Number(die.Actor.Attributes.exitCode) : NaN
  return Number.isInteger(code) ? code : undefined
}

/** Docker's text form: "2026-12-07T13:05:09.123456789Z container start ID (image=busybox, name=web)". */
export function describeEvent(e: SkiffEvent): string {
  const secs = Math.floor(e.timeNano / 1e9)
  const iso = new Date(secs * 1000).toISOString().slice(0, 19)
  const ns = String(e.timeNano % 1e9).padStart(9, '0')
  const attrs = Object.keys(e.Actor.Attributes).sort().map((k) => `${k}=${e.Actor.Attributes[k]}`).join(', ')
  return `${iso}.${ns}Z ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}`
}
