import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parsePasswd, resolveUser } from '../../core/launch/passwd.js'

const passwd = 'root:x:0:0:root:/root:/bin/sh\n# comment\ndaemon:x:1:1::/usr/sbin:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\nbroken:line\n'
const group = 'root:x:0:\ntty:x:5:app\napp:x:1000:\nextra:x:2000:app,other\nother:x:3000:someone\n'

test('parsePasswd skips comments and malformed lines', () => {
  assert.equal(parsePasswd(passwd).map((p) => p.name), ['root', 'daemon', 'app'])
})

const cases: [string, { uid: number; gid: number; additionalGids: number[]; home: string }][] = [
  ['', { uid: 0, gid: 0, additionalGids: [], home: '/root' }],
  ['app', { uid: 1000, gid: 1000, additionalGids: [5, 2000], home: '/home/app' }],
  ['1000', { uid: 1000, gid: 1000, additionalGids: [5, 2000], home: '/home/app' }],
  ['4242', { uid: 4242, gid: 0, additionalGids: [], home: '/' }],
  ['app:extra', { uid: 1000, gid: 2000, additionalGids: [], home: '/home/app' }],
  ['1000:3000', { uid: 1000, gid: 3000, additionalGids: [], home: '/home/app' }],
  ['0:5', { uid: 0, gid: 5, additionalGids: [], home: '/root' }],
]
for (const [spec, want] of cases) {
  test(`resolveUser(${JSON.stringify(spec)})`, () => {
    assert.equal(resolveUser(spec, passwd, group), want)
  })
}

test('unknown names are clear errors', () => {
  assert.throws(() => resolveUser('nobody-here', passwd, group), /unable to find user nobody-here/)
  assert.throws(() => resolveUser('app:nogroup', passwd, group), /unable to find group nogroup/)
})

test('the groups an image lists a user in include its primary group (id: groups=0(root),1(bin),...)', () => {
  const debianish = 'root:x:0:root\nbin:x:1:root,bin\ndaemon:x:2:root\nwheel:x:10:root\n'
  assert.equal(resolveUser('', passwd, debianish).additionalGids, [0, 1, 2, 10])
})

test('an image without /etc/passwd still runs numeric users', () => {
  assert.equal(resolveUser('7:8'), { uid: 7, gid: 8, additionalGids: [], home: '/' })
  assert.equal(resolveUser(''), { uid: 0, gid: 0, additionalGids: [], home: '/root' })
})

test.run()
