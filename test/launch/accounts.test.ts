import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { accountFiles } from '../../core/launch/accounts.js'

const user = { uid: 1001, gid: 1001, additionalGids: [], home: '/home/ann', name: 'ann', group: 'ann' }

test('keep-id: the user and its group are added when the image has no entry for their ids', () => {
  const f = accountFiles('root:x:0:0:root:/root:/bin/sh', 'root:x:0:', user)
  assert.is(f.passwd, 'root:x:0:0:root:/root:/bin/sh\nann:x:1001:1001:ann:/home/ann:/bin/sh\n')
  assert.is(f.group, 'root:x:0:\nann:x:1001:\n')
})

test('keep-id: an image that has the ids keeps its files; a name taken by another id is not reused', () => {
  assert.equal(accountFiles('ann:x:1001:1001::/:/bin/sh\n', 'x:x:1001:\n', user), {})
  const f = accountFiles('ann:x:5:5::/:/bin/sh\n', 'ann:x:5:\n', user)
  assert.match(f.passwd!, /\nu1001:x:1001:1001:u1001:\/home\/ann:\/bin\/sh\n$/)
  assert.match(f.group!, /\ng1001:x:1001:\n$/)
  // no files at all in the image (FROM scratch)
  assert.equal(accountFiles('', '', user), { passwd: 'ann:x:1001:1001:ann:/home/ann:/bin/sh\n', group: 'ann:x:1001:\n' })
})

test.run()
