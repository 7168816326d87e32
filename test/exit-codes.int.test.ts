// Docker's exit statuses, row by row as docs/cli.md lists them, and errors as Docker words them
// ("Error: No such container: x"), with skiff's hint after.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, useSandbox } from './helpers/env.js'

const t = suite('exit codes')
const sb = useSandbox(t)

function ready(what: string): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox())
}

t('0, 1, 125, 126, 127, the command\'s own status and 128+N, as the table in docs/cli.md says', () => {
  if (!ready('exit codes')) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  assert.is(sb.run(['create', '--name', 'made', 'busybox', 'true']).status, 0)
  assert.is(sb.run(['create', '--name', 'nocmd', 'busybox', 'no-such-command']).status, 0)
  const rows: [string[], number, RegExp?][] = [
    // 0: it worked
    [['ps', '-a'], 0],
    // 1: an object named on the command line does not exist
    [['inspect', 'nosuch'], 1, /^Error: No such object: nosuch\n  hint: /],
    [['rm', 'nosuch'], 1, /^Error: No such container: nosuch\n/],
    [['start', 'nosuch'], 1, /^Error: No such container: nosuch\n/],
    [['stop', 'nosuch'], 1, /^Error: No such container: nosuch\n/],
    [['kill', 'nosuch'], 1],
    [['logs', 'nosuch'], 1],
    [['exec', 'nosuch', 'true'], 1],
    [['port', 'nosuch'], 1],
    [['rmi', 'nosuch'], 1, /^Error: No such image: nosuch\n/],
    [['image', 'inspect', 'nosuch'], 1],
    [['volume', 'inspect', 'nosuch'], 1, /^Error: No such volume: nosuch\n/],
    [['volume', 'rm', 'nosuch'], 1],
    // 1: one of several objects failed (the others were done)
    [['stop', 'made', 'nosuch'], 1, /No such container: nosuch/],
    // 125: skiff failed, or was called wrongly
    [['run', '--no-such-flag', 'busybox', 'true'], 125, /^Error: /],
    [['no-such-verb'], 125, /^Error: unknown command "no-such-verb"\n/],
    [['run', '--rm', '--pull=never', 'nosuchimage', 'true'], 125, /^Error: No such image: nosuchimage\n/],
    [['create', '--pull=never', 'nosuchimage'], 125],
    [['start', 'nocmd'], 125, /no-such-command/],
    // 126: the command cannot be invoked; 127: it is not found
    [['run', '--rm', 'busybox', '/etc/passwd'], 126],
    [['run', '--rm', 'busybox', 'no-such-command'], 127],
    [['exec', 'made', 'true'], 125], // not running: skiff cannot exec (Docker: 1? podman 125)
    // the command's own status, and 128+N when a signal N ended it
    [['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'], 3],
    [['start', '-a', 'made'], 0],
    // (--init: pid 1 of a namespace ignores signals it has no handler for, even SIGKILL from inside)
    [['run', '--rm', '--init', 'busybox', 'sh', '-c', 'kill -9 $$'], 137],
  ]
  for (const [args, status, stderr] of rows) {
    const r = sb.run(args)
    assert.is(r.status, status, r.describe())
    if (stderr) assert.match(r.stderr, stderr, r.describe())
    assert.not.match(r.stderr, /internal error|\n\s+at /, r.describe())
  }
  // exec: the command's status, 126 and 127 as run's
  const up = sb.run(['run', '-d', '--name', 'up', 'busybox', 'sleep', '60'])
  assert.is(up.status, 0, up.describe())
  try {
    assert.is(sb.run(['exec', 'up', 'sh', '-c', 'exit 4']).status, 4)
    assert.is(sb.run(['exec', 'up', 'no-such-command']).status, 127)
    assert.is(sb.run(['exec', 'up', '/etc/passwd']).status, 126)
  } finally {
    sb.run(['rm', '-f', 'up'])
  }
})

t.run()
