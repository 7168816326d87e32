import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { helpText, parseArgs, type CommandSpec } from '../cmd/cli.js'
import run, { parseEnvFile } from '../cmd/run.js'

test('run options: short clusters, repeats, aliases', () => {
  const a = parseArgs('run', run, ['--rm', '-it', '-e', 'A=1', '--env=B=2', '-w', '/x', 'busybox'], ['ls', '-la'])
  assert.is(a.image, 'busybox')
  assert.ok(a.rm && a.interactive && a.tty)
  assert.equal(a.env, ['A=1', 'B=2'])
  assert.is(a.workdir, '/x')
  assert.equal(a.containerCommand, ['ls', '-la'])
  assert.equal(a['env-file'], [])
})

test('values glued to a short option or after =, booleans with =false, values that look like options', () => {
  const a = parseArgs('run', run, ['-p8080:80', '-eA=1', '--rm=false', '-e=B=2', '--name', '-x-', '--memory=32m', 'img'], [])
  assert.equal(a.publish, ['8080:80'])
  assert.equal(a.env, ['A=1', 'B=2'])
  assert.is(a.rm, false)
  assert.is(a.name, '-x-')
  assert.is(a.memory, '32m')
  assert.throws(() => parseArgs('run', run, ['img', '--name'], []), /--name needs a value/)
  assert.throws(() => parseArgs('run', run, ['--rm=yes', 'img'], []), /--rm=yes: expected true or false/)
  assert.is(parseArgs('run', run, ['--', '-img'], []).image, '-img')
})

test('number options are numbers, and refused when they are not', () => {
  const spec: CommandSpec = { usage: 'x', describe: 'x', options: [{ name: 'time', alias: 't', type: 'number', describe: 'x' }], positionals: ['c...'], handler: () => {} }
  assert.is(parseArgs('x', spec, ['-t', '5', 'a'], []).time, 5)
  assert.is(parseArgs('x', spec, ['-t0', 'a'], []).time, 0)
  assert.throws(() => parseArgs('x', spec, ['--time=soon', 'a'], []), /--time needs a number/)
})

test('numeric-looking values stay strings', () => {
  const a = parseArgs('run', run, ['-u', '1000', '-h', '42', 'img'], [])
  assert.is(a.user, '1000')
  assert.is(a.hostname, '42')
})

test('unknown options and missing image are usage errors with a hint', () => {
  assert.throws(() => parseArgs('run', run, ['--bogus', 'img'], []), /unknown option --bogus/)
  assert.throws(() => parseArgs('run', run, ['-Z', 'img'], []), /unknown option -Z/)
  assert.throws(() => parseArgs('run', run, [], []), /run needs image/)
})

test('extra positionals are refused unless the spec collects them', () => {
  const spec: CommandSpec = { usage: 'x', describe: 'x', options: [], positionals: ['a'], handler: () => {} }
  assert.throws(() => parseArgs('x', spec, ['1', '2'], []), /unexpected argument 2/)
  const many: CommandSpec = { ...spec, positionals: ['a', 'rest...'] }
  assert.equal(parseArgs('x', many, ['1', '2', '3'], []).rest, ['2', '3'])
})

test('--no-X options are options of their own, not negations', () => {
  const spec: CommandSpec = { usage: 'x', describe: 'x', options: [{ name: 'no-trunc', type: 'boolean', default: false, describe: 'x' }], positionals: [], handler: () => {} }
  assert.is(parseArgs('x', spec, ['--no-trunc'], [])['no-trunc'], true)
})

test('help lists every option with its alias', () => {
  const h = helpText(run)
  assert.match(h, /Usage: skiff run \[OPTIONS\] IMAGE/)
  assert.match(h, /-e, --env KEY=VALUE/)
  assert.match(h, /-t, --tty/)
})

test('env files: comments and blanks skipped, KEY alone kept', () => {
  assert.equal(parseEnvFile('# c\nA=1\n\n  B\r\nC=x=y\n'), ['A=1', 'B', 'C=x=y'])
})

test.run()
