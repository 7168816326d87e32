import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { gpuNames, nvidiaFallback, parseSpec, resolveDevices } from '../../core/launch/cdi.js'
import { isCdiName } from '../../core/launch/devices.js'

const yaml = `cdiVersion: 0.6.0
kind: vendor.com/gpu
devices:
  - name: "0"
    containerEdits:
      deviceNodes: [{ path: /dev/null }]
      env: [GPU=0]
  - name: "1"
    containerEdits:
      env: [GPU=1]
containerEdits:
  env: [DRIVER=550]
  mounts: [{ hostPath: /etc/hostname, containerPath: /usr/lib/libx.so, options: [ro, nosuid, bind] }]
  hooks: [{ hookName: createContainer, path: /usr/bin/true, args: ["true", x] }]
`

test('CDI names: vendor.com/class=name, not host paths', () => {
  assert.ok(isCdiName('nvidia.com/gpu=all'))
  assert.ok(isCdiName('example.com/fpga=0'))
  assert.not.ok(isCdiName('/dev/fuse'))
  assert.not.ok(isCdiName('/dev/a=b'))
})

test('a YAML spec resolves to device binds, mounts, env and hooks; a spec\'s own edits once', async () => {
  const spec = await parseSpec(yaml, '/etc/cdi/v.yaml')
  const e = resolveDevices(['vendor.com/gpu=all'], [spec])
  assert.equal(e.env, ['DRIVER=550', 'GPU=0', 'GPU=1'])
  assert.equal(e.devices, [{ host: '/dev/null', container: '/dev/null', readOnly: false }])
  assert.equal(e.mounts, [{ kind: 'bind', source: '/etc/hostname', target: '/usr/lib/libx.so', flags: ['ro', 'nosuid'] }])
  assert.equal(e.hooks.createContainer, [{ path: '/usr/bin/true', args: ['true', 'x'], env: [] }])
  assert.equal(resolveDevices(['vendor.com/gpu=1'], [spec]).env, ['DRIVER=550', 'GPU=1'])
})

test('CDI errors: unknown kind, unknown device, host-side hooks, bad specs', async () => {
  const spec = await parseSpec(yaml, '/etc/cdi/v.yaml')
  assert.throws(() => resolveDevices(['other.com/x=1'], [spec]), /no CDI spec describes devices of kind other.com\/x/)
  assert.throws(() => resolveDevices(['vendor.com/gpu=7'], [spec]), /is not in any spec \(vendor.com\/gpu has 0, 1\)/)
  const host = await parseSpec(JSON.stringify({ cdiVersion: '0.5.0', kind: 'a.com/b', devices: [{ name: 'x', containerEdits: { hooks: [{ hookName: 'poststop', path: '/bin/true' }] } }] }), 'h.json')
  assert.throws(() => resolveDevices(['a.com/b=x'], [host]), /would run on the host/)
  await parseSpec('{"cdiVersion":"1.0.0","kind":"a.com/b","devices":[]}', 'x.json').then(() => assert.unreachable(), (e) => assert.match(e.message, /cdiVersion/))
  await parseSpec('cdiVersion: [', 'x.yaml').then(() => assert.unreachable(), (e) => assert.match(e.message, /not valid YAML/))
  await parseSpec('{"cdiVersion":"0.6.0","kind":"nope","devices":[]}', 'x.json').then(() => assert.unreachable(), (e) => assert.match(e.message, /kind "nope"/))
})

test('--gpus through a spec of kind nvidia.com/gpu; undefined without one (the fallback applies)', async () => {
  const spec = await parseSpec(JSON.stringify({ cdiVersion: '0.6.0', kind: 'nvidia.com/gpu', devices: [{ name: '0', containerEdits: {} }, { name: '1', containerEdits: {} }, { name: 'all', containerEdits: {} }] }), 'n.json')
  assert.equal(gpuNames('all', [spec]), ['nvidia.com/gpu=all'])
  assert.equal(gpuNames('1', [spec]), ['nvidia.com/gpu=0'])
  assert.equal(gpuNames('device=1,0', [spec]), ['nvidia.com/gpu=1', 'nvidia.com/gpu=0'])
  assert.throws(() => gpuNames('3', [spec]), /2 numbered GPUs/)
  assert.is(gpuNames('all', []), undefined)
})

test('the --nv-like fallback: the driver libraries ldconfig lists (64-bit), the nodes, the programs', () => {
  const ld = [
    '\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1',
    '\tlibcuda.so.1 (libc6) => /usr/lib/i386-linux-gnu/libcuda.so.1',
    '\tlibnvidia-ml.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1',
    '\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6',
  ].join('\n')
  const e = nvidiaFallback(ld, ['/dev/nvidia0', '/dev/nvidiactl'], ['/usr/bin/nvidia-smi'])
  assert.equal(e.mounts.map((m) => m.kind === 'bind' && `${m.source} ${m.target}`), [
    '/usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/local/nvidia/lib64/libcuda.so.1',
    '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1 /usr/local/nvidia/lib64/libnvidia-ml.so.1',
    '/usr/bin/nvidia-smi /usr/bin/nvidia-smi',
  ])
  assert.equal(e.devices.map((d) => d.host), ['/dev/nvidia0', '/dev/nvidiactl'])
  assert.ok(e.env.includes('LD_LIBRARY_PATH=/usr/local/nvidia/lib64'))
})

test.run()
