import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { aliasFor, endpointsFor, parseRegistriesConf, registryFor } from '../../core/image/registries.js'
import { parseReference } from '../../core/reference.js'
import { splitTerm } from '../../core/image/search.js'

const CONF = `
# a comment
unqualified-search-registries = ["quay.io",
  "docker.io"]

[[registry]]
prefix = "docker.io"
location = "registry-1.docker.io"
[[registry.mirror]]
location = "mirror.local:5000"
insecure = true
[[registry.mirror]]
location = "second.mirror/dockerhub"

[[registry]]
prefix = "internal.example/team"
location = "10.0.0.5:5000/team-a"
mirror-by-digest-only = true
[[registry.mirror]]
location = "cache.example/team"

[[registry]]
location = "evil.example"
blocked = true

[aliases]
"busybox" = "docker.io/library/busybox"
"tool" = "quay.io/tools/tool"
`

test('registries.conf: search list, registries with mirrors, blocked ones, aliases', () => {
  const c = parseRegistriesConf(CONF, 'test.conf')
  assert.equal(c.unqualifiedSearch, ['quay.io', 'docker.io'])
  assert.is(c.registries.length, 3)
  assert.equal(c.registries[0]!.mirrors, [{ location: 'mirror.local:5000', insecure: true }, { location: 'second.mirror/dockerhub', insecure: false }])
  assert.equal(c.aliases, { busybox: 'docker.io/library/busybox', tool: 'quay.io/tools/tool' })
  // a later file's [[registry]] with the same prefix replaces it
  const again = parseRegistriesConf('[[registry]]\nprefix = "docker.io"\nlocation = "other"\n', 'b.conf', c)
  assert.is(registryFor(again, parseReference('busybox'))!.location, 'other')
})

test('endpoints: mirrors in order then the origin, paths mapped under the prefix; digest-only mirrors; blocked', () => {
  const c = parseRegistriesConf(CONF, 'test.conf')
  assert.equal(endpointsFor(c, parseReference('busybox:1'), true).map((e) => `${e.domain}/${e.path} ${e.tlsVerify}`), [
    'mirror.local:5000/library/busybox false',
    'second.mirror/dockerhub/library/busybox true',
    'registry-1.docker.io/library/busybox true',
  ])
  assert.equal(endpointsFor(c, parseReference('internal.example/team/app:1'), true).map((e) => `${e.domain}/${e.path}`), ['10.0.0.5:5000/team-a/app'])
  const digest = `internal.example/team/app@sha256:${'a'.repeat(64)}`
  assert.equal(endpointsFor(c, parseReference(digest), true).map((e) => `${e.domain}/${e.path}`), ['cache.example/team/app', '10.0.0.5:5000/team-a/app'])
  assert.equal(endpointsFor(c, parseReference('127.0.0.1:5000/x'), true).map((e) => `${e.domain}/${e.path}`), ['127.0.0.1:5000/x'])
  assert.throws(() => endpointsFor(c, parseReference('evil.example/x'), true), /blocked by registries.conf/)
})

test('aliases apply to short names only, tags and digests kept', () => {
  const c = parseRegistriesConf(CONF, 'test.conf')
  assert.is(aliasFor(c, 'tool'), 'quay.io/tools/tool')
  assert.is(aliasFor(c, 'tool:2'), 'quay.io/tools/tool:2')
  assert.is(aliasFor(c, 'other'), undefined)
  assert.is(aliasFor(c, 'quay.io/tool'), undefined)
  assert.throws(() => parseRegistriesConf('[[registry]]\ninsecure = true\n', 'x.conf'), /without prefix or location/)
  assert.throws(() => parseRegistriesConf('key value\n', 'x.conf'), /x.conf:1: expected KEY = VALUE/)
})

test('search terms: a registry host names where to search', () => {
  assert.equal(splitTerm('busybox'), { query: 'busybox' })
  assert.equal(splitTerm('127.0.0.1:5000/app'), { registry: '127.0.0.1:5000', query: 'app' })
  assert.equal(splitTerm('library/busybox'), { query: 'library/busybox' })
})

test.run()
