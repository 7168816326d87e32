// --filter as Docker combines it (core/filters.ts, core/container/filter.ts, core/image/filter.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerFilters, containerMatches } from '../core/container/filter.js'
import type { Container } from '../core/container/records.js'
import { labelsMatch, parseFilters } from '../core/filters.js'
import { imageFilters, imageMatches, rowMatches } from '../core/image/filter.js'
import type { ImageRecord } from '../core/storage/store.js'

test('parseFilters: KEY=VALUE, values of a key gathered; unknown keys and bad values are errors', () => {
  assert.equal([...parseFilters(['status=running', 'status=exited', 'label=a=b'], ['status', 'label'], 'ps')], [['status', ['running', 'exited']], ['label', ['a=b']]])
  assert.throws(() => parseFilters(['nope=1'], ['status'], 'ps'), /ps has no filter "nope"/)
  assert.throws(() => parseFilters(['status'], ['status'], 'ps'), /expected KEY=VALUE/)
  assert.throws(() => containerFilters(['status=sleeping']), /not a status/)
  assert.throws(() => imageFilters(['dangling=maybe']), /expected true or false/)
  assert.ok(labelsMatch({ a: '1', b: '' }, ['a', 'a=1', 'b']))
  assert.not.ok(labelsMatch({ a: '1' }, ['a=2']))
})

const c = (over: Partial<Container> & { labels?: Record<string, string>; status?: string; exit?: number }): Container => ({
  id: over.id ?? 'a'.repeat(64),
  name: over.name ?? 'web',
  image: over.image ?? 'busybox',
  imageId: over.imageId ?? 'sha256:img',
  created: over.created ?? '2026-01-02T00:00:00Z',
  config: { Labels: over.labels ?? {} },
  mounts: over.mounts ?? [],
  network: over.network ?? { mode: 'pasta', ports: [] },
  state: { status: over.status ?? 'running', exitCode: over.exit, restarts: 0 },
} as unknown as Container)

test('containers: same key any value, different keys all, labels all', () => {
  const web = c({ name: 'web', labels: { tier: 'front', app: 'shop' }, network: { mode: 'pasta', ports: [{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }] } })
  const db = c({ id: 'b'.repeat(64), name: 'db', status: 'exited', exit: 3, created: '2026-01-03T00:00:00Z', mounts: [{ Type: 'volume', Name: 'data', Source: '/x', Destination: '/var/lib/db', RW: true }] })
  const look = { imageId: (r: string) => (r === 'busybox' ? 'sha256:img' : undefined), container: (r: string) => [web, db].find((x) => x.name === r) }
  const pick = (...f: string[]) => [web, db].filter((x) => containerMatches(x, containerFilters(f), look)).map((x) => x.name)
  assert.equal(pick('status=running'), ['web'])
  assert.equal(pick('status=running', 'status=exited'), ['web', 'db'])
  assert.equal(pick('status=running', 'name=db'), [])
  assert.equal(pick('name=^w'), ['web'])
  assert.equal(pick('id=bbb'), ['db'])
  assert.equal(pick('label=tier=front', 'label=app'), ['web'])
  assert.equal(pick('label=tier=front', 'label=app=other'), [])
  assert.equal(pick('exited=3'), ['db'])
  assert.equal(pick('ancestor=busybox'), ['web', 'db'])
  assert.equal(pick('ancestor=alpine'), [])
  assert.equal(pick('since=web'), ['db'])
  assert.equal(pick('before=db'), ['web'])
  assert.equal(pick('volume=data'), ['db'])
  assert.equal(pick('volume=/var/lib/db'), ['db'])
  assert.equal(pick('publish=8080'), ['web'])
  assert.equal(pick('publish=8080/udp'), [])
  assert.equal(pick('expose=80/tcp'), ['web'])
  assert.equal(pick('network=pasta'), ['web', 'db'])
  assert.equal(pick('health=none'), ['web', 'db'])
  assert.throws(() => pick('since=nosuch'), /No such container: nosuch/)
})

test('images: dangling, label, before/since, reference patterns', () => {
  const img = (names: string[], created: string, labels: Record<string, string> = {}): ImageRecord =>
    ({ id: `sha256:${created}`, names, created, loaded: created, config: { config: { Labels: labels } }, layers: [] }) as unknown as ImageRecord
  const bb = img(['docker.io/library/busybox:latest'], '2026-01-01', { v: '1' })
  const app = img(['127.0.0.1:5000/team/app:2'], '2026-02-01')
  const none = img([], '2026-03-01')
  const created = (r: string) => ({ busybox: '2026-01-01', app: '2026-02-01' })[r]
  const pick = (...f: string[]) => [bb, app, none].filter((i) => imageMatches(i, imageFilters(f), created)).map((i) => i.created)
  assert.equal(pick('dangling=true'), ['2026-03-01'])
  assert.equal(pick('dangling=false'), ['2026-01-01', '2026-02-01'])
  assert.equal(pick('label=v=1'), ['2026-01-01'])
  assert.equal(pick('before=app'), ['2026-01-01'])
  assert.equal(pick('since=busybox'), ['2026-02-01', '2026-03-01'])
  assert.equal(pick('reference=busybox'), ['2026-01-01'])
  assert.equal(pick('reference=busy*:latest'), ['2026-01-01'])
  assert.equal(pick('reference=127.0.0.1:5000/team/*'), ['2026-02-01'])
  assert.equal(pick('reference=*'), ['2026-01-01'])
  assert.ok(rowMatches('busybox', 'latest', ['busybox:lat*']))
  assert.not.ok(rowMatches('busybox', 'latest', ['busybox:1']))
})

test.run()
