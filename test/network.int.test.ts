// Networking for real: pasta and slirp4netns attached to the container's own namespace, ports
// published to the host (TCP and UDP), the host's loopback out of reach unless asked for (then
// host.containers.internal), a
// tiny DNS server on the host's loopback, modes none/host/container, and no helper left behind.
// All traffic stays on this machine.
import { createSocket } from 'node:dgram'
import { readFileSync, readdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { networkInterfaces } from 'node:os'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { udpEchoImage } from './fixtures/udpecho.js'
import { busyboxArchive, need, probe, useSandbox, type Sandbox } from './helpers/env.js'

const net = suite('network')
const sb = useSandbox(net)

function ready(what: string, helper?: 'pasta' | 'slirp4netns'): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox(), probe.device('/dev/net/tun'), ...(helper ? [probe.command(helper, helper === 'pasta' ? 'passt' : 'slirp4netns')] : []))
}

function load(s: Sandbox): void {
  const r = s.run(['load', '-q', '-i', busyboxArchive('docker')])
  assert.is(r.status, 0, r.describe())
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Live pasta/slirp4netns processes of this user. */
function helpers(): string[] {
  const uid = process.getuid!()
  const out: string[] = []
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8')
      if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status) || /^State:\s+Z/m.test(status)) continue
      const comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim()
      if (/^(pasta|passt)/.test(comm) || comm === 'slirp4netns') out.push(`${p} ${comm}`)
    } catch {}
  }
  return out
}

async function get(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) })
  return r.text()
}

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)))
}

/** A DNS server for one name, on the host's loopback: test.skiff.internal → 10.11.12.13. */
function tinyDns(): Promise<{ port: number; close: () => void; queries: string[] }> {
  const queries: string[] = []
  const s = createSocket('udp4')
  s.on('message', (msg, rinfo) => {
    // header 12 bytes, then the question: labels, type, class
    let o = 12
    const labels: string[] = []
    while (msg[o]) {
      labels.push(msg.subarray(o + 1, o + 1 + msg[o]!).toString())
      o += msg[o]! + 1
    }
    const qend = o + 5
    const name = labels.join('.')
    const type = msg.readUInt16BE(o + 1)
    queries.push(`${name}/${type}`)
    const known = name === 'test.skiff.internal' && type === 1
    const head = Buffer.from([msg[0]!, msg[1]!, 0x81, known ? 0x80 : 0x83, 0, 1, 0, known ? 1 : 0, 0, 0, 0, 0])
    const answer = known ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 11, 12, 13]) : Buffer.alloc(0)
    s.send(Buffer.concat([head, msg.subarray(12, qend), answer]), rinfo.port, rinfo.address)
  })
  return new Promise((r) => s.bind(0, '127.0.0.1', () => r({ port: s.address().port, close: () => s.close(), queries })))
}

net('--network=none: only loopback, and it is up', () => {
  if (!ready('network none')) return
  load(sb)
  const r = sb.run(['run', '--rm', '--network=none', 'busybox', 'sh', '-c', 'ip -o link | cut -d: -f2; ip -o addr | grep -c "inet 127.0.0.1"; ip link show lo | grep -c UP'])
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean), ['lo', '1', '1'])
})

net('--network=host: the host\'s interfaces', () => {
  if (!ready('network host')) return
  load(sb)
  const r = sb.run(['run', '--rm', '--network=host', 'busybox', 'sh', '-c', 'ip -o link | cut -d: -f2'])
  assert.is(r.status, 0, r.describe())
  const inside = r.stdout.split('\n').map((l) => l.trim().replace(/@.*$/, '')).filter(Boolean).sort()
  assert.equal(inside, readdirSync('/sys/class/net').sort())
  assert.ok(inside.length > 1, inside.join(' '))
  assert.ok(Object.keys(networkInterfaces()).every((n) => inside.includes(n)))
})

net('pasta: -p TCP and UDP from the host, the host\'s loopback, another container\'s port, DNS; no helper left', async () => {
  if (!ready('pasta networking', 'pasta')) return
  load(sb)
  const before = helpers()
  assert.is(sb.run(['load', '-q', '-i', udpEchoImage()]).status, 0)
  // UDP on every address: Debian 12's pasta (2023-03-09) sends no replies to UDP that came in on
  // the host's loopback (docs/troubleshooting.md); the test talks to the host's own address
  // --map-gw: Debian 12's pasta sends the UDP replies to a client on the host's own address (which
  // reach the container from the gateway's address) to the real gateway under --no-map-gw, the
  // default since issue 19 (docs/troubleshooting.md)
  const web = sb.run(['run', '-d', '--name', 'web', '--network', 'pasta:--map-gw', '-p', '127.0.0.1::80', '-p', '9999/udp', 'udpecho', 'sh', '-c',
    'mkdir -p /w; echo hello-from-web > /w/index.html; httpd -p 80 -h /w; exec udpecho 9999'])
  assert.is(web.status, 0, web.describe())
  const ports = sb.run(['port', 'web']).stdout
  const tcp = Number(/^80\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(ports)?.[1])
  const udp = Number(/^9999\/udp -> 0\.0\.0\.0:(\d+)$/m.exec(ports)?.[1])
  assert.ok(tcp > 0 && udp > 0, ports)
  const ps = sb.run(['ps']).stdout
  assert.ok(ps.includes(`127.0.0.1:${tcp}->80/tcp, 0.0.0.0:${udp}->9999/udp`) && /\sweb\n/.test(ps), ps)
  await until('the web server', async () => (await get(`http://127.0.0.1:${tcp}/`).catch(() => '')) === 'hello-from-web\n')

  // UDP both ways: the datagram in, the echo back out
  const hostIp = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address
  assert.ok(hostIp, 'the host has an IPv4 address besides loopback')
  const sock = createSocket('udp4')
  try {
    const replies: string[] = []
    sock.on('message', (m) => replies.push(m.toString()))
    await new Promise<void>((r) => sock.bind(0, hostIp, () => r()))
    await until('the UDP echo', async () => {
      sock.send('ping-over-udp', udp, hostIp)
      await sleep(100)
      return replies.includes('echo:ping-over-udp')
    })
  } finally {
    sock.close()
  }
  // -P: every EXPOSEd port on a free host port
  const all = sb.run(['run', '-d', '-P', 'udpecho', 'sleep', '30'])
  assert.is(all.status, 0, all.describe())
  assert.match(sb.run(['port', all.stdout.trim()]).stdout, /^7\/udp -> 0\.0\.0\.0:\d+\n80\/tcp -> 0\.0\.0\.0:\d+\n$/)
  assert.is(sb.run(['rm', '-f', all.stdout.trim()]).status, 0)

  // a server on the host's loopback: out of reach by default (issue 19), through pasta's gateway
  // and every address the container knows; reached as host.containers.internal when asked for
  const host = createServer((_, res) => res.end('hello-from-host\n'))
  const hostPort = await listen(host)
  const gateway = JSON.parse(sb.run(['inspect', 'web']).stdout)[0].NetworkSettings.Gateway
  assert.ok(gateway, 'pasta copies the host\'s gateway')
  const closed = await sb.start(['run', '--rm', 'busybox', 'sh', '-c',
    `for a in ${gateway} 10.0.2.2 ${hostIp} host.containers.internal; do timeout 3 wget -qO- http://$a:${hostPort}/ 2>/dev/null; done; echo end`]).done
  assert.is(closed.stdout, 'end\n', closed.describe())
  // and the IPv6 loopback (::1) through pasta's IPv6 gateway, where the host has one
  const v6 = createServer((_, res) => res.end('hello-from-host-v6\n'))
  const v6Port = await new Promise<number>((r, reject) => {
    v6.once('error', reject)
    v6.listen(0, '::1', () => r((v6.address() as { port: number }).port))
  }).catch(() => 0)
  if (v6Port) {
    const script = `gw=$(ip -6 route | awk '/^default/ {print $3}'); [ -n "$gw" ] || { echo no-v6; exit 0; }; timeout 3 wget -qO- "http://[$gw]:${v6Port}/" 2>/dev/null; echo end`
    const v6Closed = await sb.start(['run', '--rm', 'busybox', 'sh', '-c', script]).done
    const v6Open = await sb.start(['run', '--rm', '--network', 'pasta:--map-gw', 'busybox', 'sh', '-c', script]).done
    v6.close()
    if (v6Closed.stdout !== 'no-v6\n') {
      assert.is(v6Closed.stdout, 'end\n', v6Closed.describe())
      assert.is(v6Open.stdout, 'hello-from-host-v6\nend\n', v6Open.describe())
    }
  }
  const fromHost = await sb.start(['run', '--rm', '--network', 'pasta:--map-gw', 'busybox', 'wget', '-qO-', `http://host.containers.internal:${hostPort}/`]).done
  host.close()
  assert.is(fromHost.stdout, 'hello-from-host\n', fromHost.describe())
  // the first container's published port (on the host's loopback), from a second container
  const other = sb.run(['run', '--rm', '--network=pasta:--map-gw', 'busybox', 'wget', '-qO-', `http://host.containers.internal:${tcp}/`])
  assert.is(other.stdout, 'hello-from-web\n', other.describe())
  // --network=container: the same network namespace
  const shared = sb.run(['run', '--rm', '--network=container:web', 'busybox', 'wget', '-qO-', 'http://127.0.0.1:80/'])
  assert.is(shared.stdout, 'hello-from-web\n', shared.describe())

  // DNS from a tiny server on the host's loopback, through pasta's gateway mapping
  const dns = await tinyDns()
  let look
  try {
    look = await sb.start(['run', '--rm', '--network', 'pasta:--map-gw', 'busybox', 'sh', '-c', `nslookup test.skiff.internal $(awk '/host.containers.internal/ {print $1}' /etc/hosts):${dns.port}`]).done
  } finally {
    dns.close()
  }
  assert.match(look.stdout, /Address:\s+10\.11\.12\.13/, look.describe())
  assert.ok(dns.queries.includes('test.skiff.internal/1'), dns.queries.join(' '))

  const conf = sb.run(['run', '--rm', '--dns', '10.9.9.9', '--dns-search', 'example.org', '--add-host', 'db:10.1.2.3', '-h', 'box', '--name', 'named', 'busybox',
    'sh', '-c', 'cat /etc/resolv.conf; grep -E "db|box|host.containers" /etc/hosts; cat /etc/hostname'])
  assert.match(conf.stdout, /^search example\.org\nnameserver 10\.9\.9\.9\n/)
  assert.match(conf.stdout, /\tbox named\n10\.1\.2\.3\tdb\nbox\n$/, 'no host.containers.internal where the host is out of reach')

  assert.ok(helpers().length > before.length, 'pasta runs while web does')
  assert.is(sb.run(['rm', '-f', 'web']).status, 0)
  await until('no helper left', () => helpers().length === before.length)
  assert.equal(readdirSync(`${sb.root}/containers`), [])
})

net('pasta started with the prelude: the container gets its network, ping rights and DNS; a restart makes its own; -p is not started early; the prelude makes the namespace for -p and none, not for host', async () => {
  if (!ready('pasta networking', 'pasta')) return
  load(sb)
  const before = helpers()
  const script = 'ip route | grep -c "^default"; cat /proc/sys/net/ipv4/ping_group_range; grep -c "^nameserver" /etc/resolv.conf'
  const r = sb.run(['run', '--rm', 'busybox', 'sh', '-c', script], { env: { SKIFF_TRACE: '1' } })
  assert.is(r.status, 0, r.describe())
  assert.match(r.stderr, /network helper started \(prelude\)/, 'pasta starts with the prelude')
  assert.match(r.stdout, /^1\n0\s+\d+\n1\n$/, r.describe())
  // rounds after the first make their own namespace and helper
  const rs = sb.run(['run', '-d', '--name', 'again', '--restart', 'on-failure:1', 'busybox', 'sh', '-c', 'ip route | grep -c "^default"; exit 3'])
  assert.is(rs.status, 0, rs.describe())
  await until('both rounds', () => /Exited \(3\)/.test(sb.run(['ps', '-a']).stdout) && sb.run(['logs', 'again']).stdout === '1\n1\n')
  assert.is(sb.run(['rm', '-f', 'again']).status, 0)
  // a published port is checked before pasta binds it: no early pasta then
  const p = sb.run(['run', '--rm', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', 'ip route | grep -c "^default"'], { env: { SKIFF_TRACE: '1' } })
  assert.is(p.status, 0, p.describe())
  assert.not.match(p.stderr, /started \(prelude\)/)
  assert.match(p.stderr, /network namespace made \(prelude\)/, 'its namespace is made with the prelude all the same')
  assert.is(p.stdout, '1\n')
  // --network=none: the prelude makes the namespace (loopback up, ping rights once mapped); host: none
  const none = sb.run(['run', '--rm', '--network=none', 'busybox', 'sh', '-c', 'ls /sys/class/net; cat /proc/sys/net/ipv4/ping_group_range; ping -c1 -W1 127.0.0.1 >/dev/null && echo pong'],
    { env: { SKIFF_TRACE: '1' } })
  assert.is(none.status, 0, none.describe())
  assert.match(none.stderr, /network namespace made \(prelude\)/)
  assert.match(none.stdout, /^lo\n0\s+\d+\npong\n$/, none.describe())
  const host = sb.run(['run', '--rm', '--network=host', 'busybox', 'true'], { env: { SKIFF_TRACE: '1' } })
  assert.is(host.status, 0, host.describe())
  assert.not.match(host.stderr, /namespace made \(prelude\)/)
  await until('no helper left behind', () => JSON.stringify(helpers()) === JSON.stringify(before))
})

net('slirp4netns: -p through its API, the host\'s loopback as 10.0.2.2; kill -9 of the container or its supervisor leaves no helper', async () => {
  if (!ready('slirp4netns networking', 'slirp4netns')) return
  load(sb)
  const before = helpers()
  const web = sb.run(['run', '-d', '--name', 'sweb', '--network=slirp4netns', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c',
    'mkdir -p /w; echo via-slirp > /w/index.html; exec httpd -f -p 80 -h /w'])
  assert.is(web.status, 0, web.describe())
  const port = Number(/:(\d+)$/m.exec(sb.run(['port', 'sweb', '80']).stdout)?.[1])
  await until('the web server', async () => (await get(`http://127.0.0.1:${port}/`).catch(() => '')) === 'via-slirp\n')
  // the same through slirp4netns's own API (SKIFF_SLIRP_PORTS=api) instead of skiff's forwarder
  const api = sb.run(['run', '-d', '--name', 'sapi', '--network=slirp4netns', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c',
    'mkdir -p /w; echo via-api > /w/index.html; exec httpd -f -p 80 -h /w'], { env: { SKIFF_SLIRP_PORTS: 'api' } })
  assert.is(api.status, 0, api.describe())
  const apiPort = Number(/:(\d+)$/m.exec(sb.run(['port', 'sapi', '80']).stdout)?.[1])
  await until('the API-forwarded server', async () => (await get(`http://127.0.0.1:${apiPort}/`).catch(() => '')) === 'via-api\n')
  assert.is(sb.run(['rm', '-f', 'sapi']).status, 0)
  const i = JSON.parse(sb.run(['inspect', 'sweb']).stdout)[0]
  assert.is(i.NetworkSettings.IPAddress, '10.0.2.100')
  assert.is(i.HostConfig.NetworkMode, 'slirp4netns')
  assert.equal(i.NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(port) }])
  const host = createServer((_, res) => res.end('hello-from-host\n'))
  const hostPort = await listen(host)
  // out of reach by default (issue 19); 10.0.2.2 and host.containers.internal when asked for
  const closed = await sb.start(['run', '--rm', '--network=slirp4netns', 'busybox', 'sh', '-c',
    `for a in 10.0.2.2 host.containers.internal; do timeout 3 wget -qO- http://$a:${hostPort}/ 2>/dev/null; done; echo end`]).done
  assert.is(closed.stdout, 'end\n', closed.describe())
  const fromHost = await sb.start(['run', '--rm', '--network=slirp4netns:allow_host_loopback=true', '--add-host', 'h:host-gateway', 'busybox', 'sh', '-c',
    `wget -qO- http://10.0.2.2:${hostPort}/ && wget -qO- http://host.containers.internal:${hostPort}/ && grep -c '^10.0.2.2\th$' /etc/hosts`]).done
  host.close()
  assert.is(fromHost.stdout, 'hello-from-host\nhello-from-host\n1\n', fromHost.describe())

  // the container's pid 1 killed behind skiff's back: its helper goes with it
  process.kill(i.State.Pid, 'SIGKILL')
  await until('the helper to stop', () => helpers().length === before.length)
  // the supervisor killed: the helper dies with it (parent-death signal)
  assert.is(sb.run(['start', 'sweb']).status, 0)
  assert.ok(helpers().length > before.length)
  const state = JSON.parse(readFileSync(`${sb.root}/containers/${i.Id}/state.json`, 'utf8'))
  process.kill(state.supervisorPid, 'SIGKILL')
  await until('the helper to die with the supervisor', () => helpers().length === before.length)
  assert.is(sb.run(['rm', '-f', 'sweb']).status, 0)
})

net('ports that cannot be published are refused before the container starts', async () => {
  if (!ready('port errors', 'pasta')) return
  load(sb)
  const low = sb.run(['run', '--rm', '-p', '80:80', 'busybox', 'true'])
  assert.is(low.status, 125)
  assert.match(low.stderr, /ports below \d+ are privileged \(net\.ipv4\.ip_unprivileged_port_start = \d+\)/)
  const busy = createServer()
  const port = await listen(busy)
  const taken = sb.run(['run', '--rm', '-p', `127.0.0.1:${port}:80`, 'busybox', 'true'])
  busy.close()
  assert.is(taken.status, 125)
  assert.match(taken.stderr, new RegExp(`cannot publish 127\\.0\\.0\\.1:${port}/tcp: the port is already in use`))
  assert.match(sb.run(['run', '--rm', '--network=none', '-p', '8080:80', 'busybox', 'true']).stderr, /cannot be used with --network=none/)
})

net.run()
