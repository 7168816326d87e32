// skiff attach: this terminal to a detached container's terminal, through the waiter's socket.
// Does I/O. Ctrl-P Ctrl-Q (or --detach-keys) detaches and leaves the container running (as Docker).
import { connect } from 'node:net'
import { dirname } from 'node:path'
import { unsafeReason } from '../private-dir.js'
import { readState, type ContainerRecord } from './records.js'
import { SkiffError } from '../errors.js'
import { nowNs } from '../clock.js'
import { DEFAULT_DETACH_KEYS } from './detach-keys.js'

export { DEFAULT_DETACH_KEYS, parseDetachKeys } from './detach-keys.js'
import type { Store } from '../storage/store.js'

/** A frame for the waiter: 'd' + length + data, or 'r' + 4 + rows + cols. Pure. */
export function frame(type: 'd' | 'r', data: Buffer): Buffer {
  const out = Buffer.alloc(3 + data.length)
  out[0] = type.charCodeAt(0)
  out.writeUInt16BE(data.length, 1)
  data.copy(out, 3)
  return out
}

export function sizeFrame(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt16BE(rows, 0)
  b.writeUInt16BE(cols, 2)
  return frame('r', b)
}

/**
 * Input split into frames of at most 64 KiB; `detached` when the detach keys were typed (a key
 * sequence may span reads: `state.matched` counts how much of it came so far). The keys of a
 * sequence in progress are passed on as they come, as the shell behind expects them.
 */
export function inputFrames(chunk: Buffer, state: { matched: number }, keys: number[] = DEFAULT_DETACH_KEYS): { frames: Buffer[]; detached: boolean } {
  const frames: Buffer[] = []
  for (let i = 0; keys.length && i < chunk.length; i++) {
    state.matched = chunk[i] === keys[state.matched] ? state.matched + 1 : chunk[i] === keys[0] ? 1 : 0
    if (state.matched === keys.length) {
      // what came before the sequence in this read goes on; the sequence itself does not
      const start = Math.max(0, i + 1 - keys.length)
      return { frames: start > 0 ? [frame('d', chunk.subarray(0, start))] : [], detached: true }
    }
  }
  for (let at = 0; at < chunk.length; at += 65535) frames.push(frame('d', chunk.subarray(at, at + 65535)))
  return { frames, detached: false }
}

/** Resolves to the container's exit status once it ends, or undefined after a detach. */
export async function attach(store: Store, rec: ContainerRecord, detachKeys: number[] = DEFAULT_DETACH_KEYS): Promise<number | undefined> {
  const state = readState(store, rec)
  if (state.status !== 'running') throw new SkiffError('E_NOT_RUNNING', `container ${rec.name} is not running`, { hint: `skiff start ${rec.name}` })
  if (!rec.attachSocket || !rec.config.Tty) {
    throw new SkiffError('E_NO_TTY', `container ${rec.name} has no terminal to attach to`, { hint: `its output is in its log: skiff logs -f ${rec.name}` })
  }
  // the socket's directory must still be ours alone: anyone who can write it can swap the socket
  const why = unsafeReason(dirname(rec.attachSocket), process.getuid!())
  if (why) {
    throw new SkiffError('E_UNSAFE_DIR', `cannot attach to ${rec.name}: its socket's directory ${dirname(rec.attachSocket)} is not safe to use: ${why}`, {
      hint: 'another user may be listening in: do not attach; stop the container (skiff stop), remove that directory if it is not yours, and start it again',
    })
  }
  const since = nowNs()
  const sock = connect(rec.attachSocket)
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve)
    sock.once('error', (err) => reject(new SkiffError('E_ATTACH', `cannot attach to ${rec.name}: ${err.message}`, { hint: 'it was started detached with -t by this version of skiff? Its output is in skiff logs' })))
  })
  const stdin = process.stdin
  const raw = stdin.isTTY
  if (raw) stdin.setRawMode(true)
  const sendSize = () => {
    if (process.stdout.isTTY) sock.write(sizeFrame(process.stdout.rows, process.stdout.columns))
  }
  sendSize()
  process.on('SIGWINCH', sendSize)
  const seen = { matched: 0 }
  let detached = false
  const onData = (chunk: Buffer) => {
    const r = inputFrames(chunk, seen, detachKeys)
    for (const f of r.frames) sock.write(f)
    if (r.detached) {
      detached = true
      sock.end()
    }
  }
  stdin.on('data', onData)
  sock.pipe(process.stdout, { end: false })
  await new Promise<void>((resolve) => sock.once('close', () => resolve()))
  stdin.off('data', onData)
  stdin.pause()
  if (raw) stdin.setRawMode(false)
  process.off('SIGWINCH', sendSize)
  if (detached) return undefined
  const { waitStopped } = await import('./stop.js')
  const end = await waitStopped(store, rec, 10_000)
  if (end?.exitCode !== undefined) return end.exitCode
  // a --rm container is gone with its exit file: its supervisor's "die" in the journal says it
  const { lastExitCode } = await import('../events.js')
  for (let waited = 0; waited < 10_000; waited += 50) {
    const code = lastExitCode(store.root, rec.id, since)
    if (code !== undefined) return code
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new SkiffError('E_ATTACH', `the exit status of ${rec.name} is not known: it ended and is gone`, { hint: 'its end is in skiff events --filter container=' + rec.name })
}
