import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { judgeDevNetTun, judgeNetHelpers, judgePing, judgePorts, parsePingGroupRange, pingAllowed } from '../../core/host/net.js'

test('parsePingGroupRange', () => {
  assert.equal(parsePingGroupRange('1\t0\n'), [1, 0])
  assert.equal(parsePingGroupRange('0 2147483647\n'), [0, 2147483647])
  assert.is(parsePingGroupRange(''), undefined)
})

const pings: [[number, number] | undefined, number[], boolean][] = [
  [[1, 0], [1000], false], // the kernel's default: nobody
  [[0, 2147483647], [1000], true],
  [[100, 200], [1000, 150], true], // a supplementary group counts
  [[100, 200], [1000, 201], false],
  [undefined, [1000], false],
]
for (const [range, groups, want] of pings) {
  test(`pingAllowed ${JSON.stringify(range)} for ${groups.join(',')} → ${want}`, () => assert.is(pingAllowed(range, groups), want))
}

test('judgePing', () => {
  const denied = judgePing({ pingGroupRange: [1, 0] }, { uid: 1000, groups: [1000] })
  assert.is(denied.status, 'warning')
  assert.match(denied.value, /net\.ipv4\.ping_group_range = 1 0/)
  assert.match(denied.fix!, /sysctl -w net\.ipv4\.ping_group_range="0 2147483647"/)
  assert.is(judgePing({ pingGroupRange: [0, 2147483647] }, { uid: 1000, groups: [1000] }).status, 'ok')
  assert.is(judgePing({ pingGroupRange: [1, 0] }, { uid: 0, groups: [0] }).status, 'ok')
})

test('judgePorts names the sysctl', () => {
  assert.match(judgePorts({ unprivilegedPortStart: 1024 }, { uid: 1000 }).value, /^1024 and up .*net\.ipv4\.ip_unprivileged_port_start/)
  assert.match(judgePorts({ unprivilegedPortStart: 0 }, { uid: 1000 }).value, /^any/)
  assert.match(judgePorts({ unprivilegedPortStart: 1024 }, { uid: 0 }).value, /^any \(root\)/)
})

test('judgeNetHelpers: either is enough, neither is a warning on both', () => {
  const pasta = { path: '/usr/bin/pasta' }
  const slirp = { path: '/usr/bin/slirp4netns', version: '1.2.0' }
  const both = judgeNetHelpers({ pasta, slirp4netns: slirp })
  assert.equal(both.map((i) => [i.id, i.status, i.value]), [
    ['pasta', 'ok', '/usr/bin/pasta (version unknown)'],
    ['slirp4netns', 'ok', '/usr/bin/slirp4netns (version 1.2.0)'],
  ])
  const onlySlirp = judgeNetHelpers({ slirp4netns: slirp })
  assert.equal([onlySlirp[0]!.status, onlySlirp[0]!.value], ['ok', 'not installed (slirp4netns is used)'])
  const none = judgeNetHelpers({})
  assert.equal(none.map((i) => i.status), ['warning', 'warning'])
  assert.match(none[0]!.fix!, /apt install passt/)
  assert.match(none[1]!.fix!, /apt install slirp4netns/)
})

test('judgeDevNetTun', () => {
  const closed = { path: '/dev/net/tun', exists: true, mode: '0600', usable: false, error: 'EACCES' }
  const item = judgeDevNetTun({ devNetTun: closed, pasta: { path: '/usr/bin/pasta' } })
  assert.is(item.status, 'warning')
  assert.match(item.fix!, /chmod 0666 \/dev\/net\/tun/)
  assert.is(judgeDevNetTun({ devNetTun: { ...closed, exists: false, mode: undefined, error: 'ENOENT' }, pasta: { path: '/p' } }).fix, 'sudo modprobe tun')
  assert.is(judgeDevNetTun({ devNetTun: closed }).status, 'ok') // no helper would use it
})

test.run()
