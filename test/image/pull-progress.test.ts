import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bar, plainProgress, terminalProgress } from '../../core/image/pull-progress.js'

test('bars', () => {
  assert.is(bar(0, 100, 10), '[>         ] 0B/100B')
  assert.is(bar(50, 100, 10), '[=====>    ] 50B/100B')
  assert.is(bar(2_500_000, 2_500_000, 10), '[==========] 2.5MB/2.5MB')
})

test('plain progress: one line per finished blob', () => {
  let out = ''
  const p = plainProgress((s) => (out += s))
  p.message('Trying to pull x...')
  p.start('abc', 10)
  p.advance('abc', 10)
  p.done('abc', 'Download complete')
  assert.is(out, 'Trying to pull x...\nabc: Download complete\n')
})

test('terminal progress redraws its rows in place', () => {
  let out = ''
  const p = terminalProgress({ write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream)
  p.start('a', 100)
  p.start('b', 100)
  p.done('a', 'Download complete')
  assert.match(out, /\x1b\[2A/)
  assert.match(out, /a: Download complete\n\x1b\[2Kb: Downloading \[/)
})

test.run()
