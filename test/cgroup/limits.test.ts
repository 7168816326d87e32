// Docker's limit flags as cgroup v2 files.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { controllersFor, limitFiles, parseCpus } from '../../core/cgroup/limits.js'

const t = suite('cgroup')

t('limit files, converted as runc and crun do', () => {
  assert.equal(limitFiles({ memory: 64 << 20, memoryReservation: 32 << 20, memorySwap: 128 << 20, conf: {} }), {
    'memory.max': '67108864', 'memory.low': '33554432', 'memory.swap.max': '67108864',
  })
  assert.equal(limitFiles({ memory: 1, memorySwap: -1, conf: {} })['memory.swap.max'], 'max')
  assert.equal(limitFiles({ cpus: 1.5, conf: {} }), { 'cpu.max': '150000 100000' })
  assert.equal(limitFiles({ cpuShares: 1024, conf: {} }), { 'cpu.weight': '39' })
  assert.equal(limitFiles({ cpuShares: 2, conf: {} }), { 'cpu.weight': '1' })
  assert.equal(limitFiles({ pidsLimit: -1, conf: {} }), { 'pids.max': 'max' })
  assert.equal(limitFiles({ pidsLimit: 100, blkioWeight: 500, cpusetCpus: '0-1', conf: { 'memory.high': '200M' } }), {
    'cpuset.cpus': '0-1', 'pids.max': '100', 'io.weight': 'default 500', 'memory.high': '200M',
  })
  assert.throws(() => limitFiles({ memorySwap: 1 << 30, conf: {} }), /it needs --memory/)
  assert.throws(() => limitFiles({ memory: 2 * 2 ** 30, memorySwap: 2 ** 30, conf: {} }), /must not be smaller/)
  assert.throws(() => limitFiles({ conf: { '../escape': 'x' } }), /not a cgroup v2 file name/)
  assert.equal(controllersFor({ 'memory.max': '1', 'memory.low': '1', 'pids.max': '2' }), ['memory', 'pids'])
  assert.is(parseCpus('0.5'), 0.5)
  assert.throws(() => parseCpus('-1'), /expected a positive number/)
})

t.run()
