import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { splitAtCommand } from '../cmd/split-argv.js'

const values = new Set(['-e', '--env', '-w', '--workdir', '-u', '--user', '-h', '--hostname'])
const cases: [string[], string[], string[]][] = [
  [['run', '--rm', 'busybox', 'ls', '-la', '--rm'], ['run', '--rm', 'busybox'], ['ls', '-la', '--rm']],
  [['run', '-it', '-e', 'A=1', 'busybox'], ['run', '-it', '-e', 'A=1', 'busybox'], []],
  [['run', '-e', 'busybox', 'img', 'sh'], ['run', '-e', 'busybox', 'img'], ['sh']],
  [['run', '--env=X=1', 'img', 'sh', '-c', 'echo $$'], ['run', '--env=X=1', 'img'], ['sh', '-c', 'echo $$']],
  [['run', '-ite', 'A=1', 'img', 'x'], ['run', '-ite', 'A=1', 'img'], ['x']],
  [['run', '-h', 'myhost', '--', 'img', 'ls', '--', 'x'], ['run', '-h', 'myhost', 'img'], ['ls', '--', 'x']],
  [['--debug', 'run', 'img'], ['--debug', 'run', 'img'], []],
]
for (const [argv, head, command] of cases) {
  test(argv.join(' '), () => {
    assert.equal(splitAtCommand(argv, values, 1), { head, command })
  })
}

test('exec CONTAINER COMMAND splits the same way', () => {
  assert.equal(splitAtCommand(['exec', '-it', '-u', '0', 'web', 'sh', '-l'], values, 1), { head: ['exec', '-it', '-u', '0', 'web'], command: ['sh', '-l'] })
})

test.run()
