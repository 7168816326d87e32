// Pure parts of the container lifecycle: derived state, signals, restart policies, logs, sizes.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { deriveState, describeStatus } from '../../core/container/records.js'
import { parseRestart } from '../../core/container/create.js'
import { parseSignal } from '../../core/container/stop.js'
import { parseLogLine, parseSince, selectEntries } from '../../core/container/logs.js'
import { createValueOptions, parseSize } from '../../cmd/run-options.js'
import { RUN_VALUE_OPTIONS } from '../../cmd/commands.js'
import { frame, inputFrames, parseDetachKeys, sizeFrame } from '../../core/container/attach.js'

const t = suite('containers')

const state = { supervisorPid: 10, supervisorStart: '99', initPid: 11, startedAt: '2026-11-24T10:00:00.000000000Z', round: 1 }

t('deriveState: created, running, restarting, exited, supervisor killed, failed start', () => {
  assert.equal(deriveState(undefined, undefined, false), { status: 'created', restarts: 0 })
  assert.equal(deriveState(state, undefined, true).status, 'running')
  assert.is(deriveState(state, undefined, true).pid, 11)
  const exit1 = { round: 1, status: 3, finishedAt: '2026-11-24T10:00:01Z' }
  assert.equal(deriveState(state, exit1, true).status, 'restarting')
  assert.equal(deriveState({ ...state, round: 2 }, exit1, true).status, 'running', 'exit of an older round')
  assert.is(deriveState({ ...state, round: 3 }, undefined, true).restarts, 2)
  const done = deriveState(state, exit1, false)
  assert.equal([done.status, done.exitCode, done.finishedAt], ['exited', 3, exit1.finishedAt])
  const killed = deriveState(state, undefined, false)
  assert.equal([killed.status, killed.exitCode], ['exited', 137])
  assert.match(killed.error!, /supervisor was killed/)
  const failed = deriveState(undefined, { round: 0, status: 127, finishedAt: 'x', error: 'cannot run nope' }, false)
  assert.equal([failed.status, failed.exitCode, failed.error], ['exited', 127, 'cannot run nope'])
})

t('describeStatus as Docker prints STATUS', () => {
  const ago = (iso?: string) => (iso ? '3 seconds ago' : 'N/A')
  assert.is(describeStatus({ status: 'created', restarts: 0 }, ago), 'Created')
  assert.is(describeStatus({ status: 'running', restarts: 0, startedAt: 'x' }, ago), 'Up 3 seconds')
  assert.is(describeStatus({ status: 'exited', restarts: 0, exitCode: 0, finishedAt: 'x' }, ago), 'Exited (0) 3 seconds ago')
  assert.is(describeStatus({ status: 'exited', restarts: 0, exitCode: 137 }, ago), 'Exited (137)')
})

t('parseSignal: names, SIG names, numbers; unknown ones are errors', () => {
  assert.is(parseSignal('TERM'), 15)
  assert.is(parseSignal('sigkill'), 9)
  assert.is(parseSignal('SIGHUP'), 1)
  assert.is(parseSignal('10'), 10)
  assert.throws(() => parseSignal('BOGUS'), /unknown signal "BOGUS"/)
  assert.throws(() => parseSignal('0'), /unknown signal/)
})

t('parseRestart: Docker policies', () => {
  assert.equal(parseRestart('no'), { Name: 'no', MaximumRetryCount: 0 })
  assert.equal(parseRestart('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 })
  assert.equal(parseRestart('always'), { Name: 'always', MaximumRetryCount: 0 })
  assert.throws(() => parseRestart('always:3'), /expected no, on-failure\[:N\], always or unless-stopped/)
  assert.throws(() => parseRestart('sometimes'), /--restart=sometimes/)
})

t('log lines: parse, tail counts whole lines, since filters by time', () => {
  assert.equal(parseLogLine('2026-11-24T10:00:00.5Z stderr P par'), { time: '2026-11-24T10:00:00.5Z', stream: 'stderr', full: false, text: 'par' })
  assert.is(parseLogLine('garbage'), undefined)
  const text = [
    '2026-11-24T10:00:00Z stdout F a',
    '2026-11-24T10:00:01Z stdout P b1',
    '2026-11-24T10:00:02Z stdout F b2',
    '2026-11-24T10:00:03Z stderr F c',
    '',
  ].join('\n')
  assert.equal(selectEntries(text, { timestamps: false, tail: 2 }).map((e) => e.text), ['b1', 'b2', 'c'])
  assert.equal(selectEntries(text, { timestamps: false, tail: 0 }), [])
  assert.equal(selectEntries(text, { timestamps: false, since: Date.parse('2026-11-24T10:00:02Z') }).map((e) => e.text), ['b2', 'c'])
  assert.is(parseSince('10m', 1_000_000_000), 1_000_000_000 - 600_000)
  assert.is(parseSince('1h30m', 10_000_000), 10_000_000 - 5_400_000)
  assert.is(parseSince('1764000000'), 1_764_000_000_000)
  assert.is(parseSince('2026-11-24T10:00:00Z'), Date.parse('2026-11-24T10:00:00Z'))
  assert.throws(() => parseSince('yesterday'), /cannot read the time/)
})

t('sizes and the value options of run/create', () => {
  assert.is(parseSize('10m'), 10 * 1024 * 1024)
  assert.is(parseSize('512k'), 512 * 1024)
  assert.is(parseSize('100'), 100)
  assert.throws(() => parseSize('ten'), /cannot read the size/)
  // main.ts splits the container's command off with this list: it must match the options
  assert.equal([...RUN_VALUE_OPTIONS].sort(), [...createValueOptions].sort())
})

t('attach frames; Ctrl-P Ctrl-Q detaches, a lone Ctrl-P is input', () => {
  assert.equal([...frame('d', Buffer.from('hi'))], [0x64, 0, 2, 0x68, 0x69])
  assert.equal([...sizeFrame(30, 100)], [0x72, 0, 4, 0, 30, 0, 100])
  const state = { matched: 0 }
  const a = inputFrames(Buffer.from('ls\x10'), state)
  assert.equal([a.detached, a.frames.length], [false, 1])
  const b = inputFrames(Buffer.from('\x11'), state)
  assert.is(b.detached, true, 'split across reads')
  const c = inputFrames(Buffer.from('ab\x10\x11cd'), { matched: 0 })
  assert.equal([c.detached, c.frames.map((f) => f.subarray(3).toString())], [true, ['ab']])
  // a lone Ctrl-P, and one followed by something else, are input
  assert.equal(inputFrames(Buffer.from('\x10x\x11'), { matched: 0 }).detached, false)
  assert.equal(inputFrames(Buffer.from('\x10\x10\x11'), { matched: 0 }).detached, true)
})

t('--detach-keys: Docker\'s spelling; other keys detach, "" never', () => {
  assert.equal(parseDetachKeys('ctrl-p,ctrl-q'), [0x10, 0x11])
  assert.equal(parseDetachKeys('ctrl-a,d'), [0x01, 0x64])
  assert.equal(parseDetachKeys('ctrl-@,ctrl-_'), [0x00, 0x1f])
  assert.equal(parseDetachKeys(''), [])
  assert.throws(() => parseDetachKeys('ctrl-p,qq'), /"qq" is not a key/)
  const keys = parseDetachKeys('ctrl-a,d')
  assert.equal(inputFrames(Buffer.from('x\x01d'), { matched: 0 }, keys).detached, true)
  assert.equal(inputFrames(Buffer.from('\x10\x11'), { matched: 0 }, keys).detached, false)
  assert.equal(inputFrames(Buffer.from('\x10\x11'), { matched: 0 }, []).detached, false)
})

t.run()
