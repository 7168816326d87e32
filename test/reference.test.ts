import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { familiarRepository, normalizeReference, parseReference } from '../core/reference.js'

const D = 'sha256:' + 'a'.repeat(64)
const cases: [string, string][] = [
  ['busybox', 'docker.io/library/busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['me/app', 'docker.io/me/app:latest'],
  ['docker.io/library/alpine:3', 'docker.io/library/alpine:3'],
  ['index.docker.io/x', 'docker.io/library/x:latest'],
  ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest'],
  ['localhost/a/b:t', 'localhost/a/b:t'],
  ['quay.io/org/img:v1.2_3', 'quay.io/org/img:v1.2_3'],
  [`x@${D}`, `docker.io/library/x@${D}`],
  [`x:t@${D}`, `docker.io/library/x:t@${D}`],
]
for (const [input, want] of cases) test(input, () => assert.is(normalizeReference(input), want))

test('bad references say what is wrong', () => {
  assert.throws(() => parseReference('Upper'), /must be lowercase/)
  assert.throws(() => parseReference('UPPER/bad:tag'), /must be lowercase/)
  assert.throws(() => parseReference('b@d'), /digest/)
  assert.is(normalizeReference('Registry.Example:5000/app'), 'Registry.Example:5000/app:latest')
  assert.throws(() => parseReference('x@sha256:12'), /64 hex/)
  assert.throws(() => parseReference(':tag'), /no name/)
})

test('familiar names drop docker.io/library', () => {
  assert.is(familiarRepository(parseReference('busybox')), 'busybox')
  assert.is(familiarRepository(parseReference('me/app')), 'me/app')
  assert.is(familiarRepository(parseReference('127.0.0.1:5000/x')), '127.0.0.1:5000/x')
})

test.run()
