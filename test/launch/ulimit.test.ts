// --ulimit as data: Docker's spelling, unlimited, soft above hard, and a hard limit above the
// session's refused before the container starts.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { checkUlimits, parseUlimit } from '../../core/launch/ulimit.js'

const t = suite('ulimit')
const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max processes             1000                 2000                 processes 
Max open files            1024                 4096                 files     
Max core file size        0                    unlimited            bytes     
`

t('NAME=SOFT[:HARD], unlimited and -1', () => {
  assert.equal(parseUlimit('nofile=1024:2048'), { name: 'nofile', type: 7, soft: 1024, hard: 2048 })
  assert.equal(parseUlimit('core=0'), { name: 'core', type: 4, soft: 0, hard: 0 })
  assert.equal(parseUlimit('memlock=unlimited'), { name: 'memlock', type: 8, soft: -1, hard: -1 })
  assert.equal(parseUlimit('stack=8192:-1'), { name: 'stack', type: 3, soft: 8192, hard: -1 })
  assert.throws(() => parseUlimit('nofile=2048:1024'), /soft limit is above the hard one/)
  assert.throws(() => parseUlimit('files=1'), /NAME one of cpu/)
  assert.throws(() => parseUlimit('nofile=lots'), /"lots" is not a number/)
})

t('a hard limit above the session\'s is refused; within it, or where the session has none, it is fine', () => {
  checkUlimits([parseUlimit('nofile=1024:4096'), parseUlimit('core=unlimited')], LIMITS)
  assert.throws(() => checkUlimits([parseUlimit('nofile=1024:8192')], LIMITS), /above this session's 4096/)
  assert.throws(() => checkUlimits([parseUlimit('nproc=unlimited')], LIMITS), /hard limit unlimited is above this session's 2000/)
})

t.run()
