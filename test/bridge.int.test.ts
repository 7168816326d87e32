// Bridge networks for real, as the unprivileged user: a server and a client that finds it by
// name, alias and hostname; isolation between networks and of an internal one; ports published
// from a bridge network; connect, disconnect, rename; addresses never given twice, also when
// skiff processes are killed with -9 while containers start in parallel; a killed keeper repaired;
// the keeper gone when the last container is; nothing of it in the host's own network namespace.
import { readFileSync, readdirSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { udpEchoImage } from './fixtures/udpecho.js'
import { busyboxArchive, need, probe, useSandbox, type Sandbox } from './helpers/env.js'

const t = suite('bridge')
const sb = useSandbox(t)

function ready(what: string): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox(), probe.device('/dev/net/tun'), probe.command('pasta', 'passt'))
}

function ok(s: Sandbox, args: string[]): string {
  const r = s.run(args)
  assert.is(r.status, 0, r.describe())
  return r.stdout
}

function load(s: Sandbox): void {
  ok(s, ['load', '-q', '-i', busyboxArchive('docker')])
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Live processes of this user whose command line matches `re` (zombies not counted). */
function processes(re: RegExp): number[] {
  const uid = process.getuid!()
  const out: number[] = []
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8')
      if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status) || /^State:\s+Z/m.test(status)) continue
      if (re.test(readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' '))) out.push(Number(p))
    } catch {}
  }
  return out
}

/** The keeper of this sandbox's store (its pid from the store), if it runs. */
function keeperPid(s: Sandbox): number | undefined {
  try {
    const k = JSON.parse(readFileSync(`${s.root}/networks/keeper.json`, 'utf8')) as { pid: number }
    return processes(/ keeper\b/).includes(k.pid) ? k.pid : undefined
  } catch {
    return undefined
  }
}

/** The address each running container on `net` really has on eth0. */
function addresses(s: Sandbox, net: string): string[] {
  const ids = ok(s, ['ps', '-q', '--filter', `network=${net}`]).split('\n').filter(Boolean)
  return ids.map((id) => ok(s, ['exec', id, 'sh', '-c', 'ip -4 -o addr show eth0 | awk \'{print $4}\'']).trim())
}

const SERVER = ['sh', '-c', 'mkdir -p /w && hostname > /w/who && httpd -f -p 8080 -h /w']

t('a server and a client that finds it by name, alias and hostname; inspect and ps say where', () => {
  if (!ready('bridge: two containers')) return
  load(sb)
  ok(sb, ['network', 'create', 'app'])
  ok(sb, ['run', '-d', '--name', 'db', '--hostname', 'dbhost', '--network', 'app', '--network-alias', 'database', 'busybox', ...SERVER])
  const r = sb.run(['run', '--rm', '--network', 'app', 'busybox', 'sh', '-c',
    'for n in db database dbhost; do wget -qO- http://$n:8080/who; done; cat /etc/resolv.conf; ip route | grep default'])
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.split('\n').slice(0, 3), ['dbhost', 'dbhost', 'dbhost'])
  assert.match(r.stdout, /nameserver 10\.89\.\d+\.1\n/)
  assert.match(r.stdout, /default via 10\.89\.\d+\.1 dev eth0/)
  const n = JSON.parse(ok(sb, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'db'])) as Record<string, { IPAddress: string; Gateway: string; MacAddress: string; Aliases: string[]; IPPrefixLen: number }>
  assert.match(n.app!.IPAddress, /^10\.89\.\d+\.\d+$/)
  assert.match(n.app!.Gateway, /^10\.89\.\d+\.1$/)
  assert.match(n.app!.MacAddress, /^02:42:0a:59(:[0-9a-f]{2}){2}$/)
  assert.ok(n.app!.Aliases.includes('database'), JSON.stringify(n))
  assert.is(n.app!.IPPrefixLen, 24)
  assert.is(ok(sb, ['ps', '--format', '{{.Names}} {{.Networks}}']).trim(), 'db app')
  assert.is(ok(sb, ['network', 'inspect', '-f', '{{range .Containers}}{{.Name}}{{end}}', 'app']).trim(), 'db')
  assert.is(ok(sb, ['ps', '-q', '--filter', 'network=app']).trim().length, 12)
  // /etc/hosts has its own address
  assert.match(ok(sb, ['exec', 'db', 'cat', '/etc/hosts']), new RegExp(`${n.app!.IPAddress.replace(/\./g, '\\.')}\\tdbhost db`))
})

t('the default network `bridge` needs no create; names resolve there too', () => {
  if (!ready('bridge: default network')) return
  load(sb)
  assert.match(ok(sb, ['network', 'ls', '--format', '{{.Name}} {{.Driver}}']), /^bridge bridge$/m)
  ok(sb, ['run', '-d', '--name', 'web', '--network', 'bridge', 'busybox', ...SERVER])
  const r = sb.run(['run', '--rm', '--network=bridge', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; wget -qO- http://web:8080/who'])
  assert.is(r.status, 0, r.describe())
  assert.match(r.stdout, /inet 10\.88\.0\.\d+\/16/)
  assert.is(ok(sb, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web']).trim().split('.').slice(0, 2).join('.'), '10.88')
})

t('networks are isolated from each other, by name and by address; an internal one has no way out', () => {
  if (!ready('bridge: isolation')) return
  load(sb)
  ok(sb, ['network', 'create', 'red'])
  ok(sb, ['network', 'create', 'blue'])
  ok(sb, ['network', 'create', '--internal', 'sealed'])
  ok(sb, ['run', '-d', '--name', 'r1', '--network', 'red', 'busybox', ...SERVER])
  ok(sb, ['run', '-d', '--name', 's1', '--network', 'sealed', 'busybox', ...SERVER])
  const red = ok(sb, ['inspect', '-f', '{{.NetworkSettings.Networks.red.IPAddress}}', 'r1']).trim()
  // from blue: the name is not known, the address not reached (not even its gateway's routes)
  let r = sb.run(['run', '--rm', '--network', 'blue', 'busybox', 'sh', '-c',
    `nslookup r1 >/dev/null 2>&1 && echo NAME; timeout 3 wget -qO- http://${red}:8080/who && echo ADDR; ping -c1 -W1 ${red} >/dev/null 2>&1 && echo PING; echo done`])
  assert.is(r.status, 0, r.describe())
  assert.is(r.stdout.trim(), 'done', r.describe())
  // internal: its own network works; no default route, and one added by hand leads nowhere
  r = sb.run(['run', '--rm', '--network', 'sealed', 'busybox', 'sh', '-c',
    'wget -qO- http://s1:8080/who; ip route | grep -c default; gw=$(ip route | awk \'/src/ {print $1}\' | sed "s#0/24#1#"); ip route add default via $gw; ' +
    `timeout 3 wget -qO- http://${red}:8080/who && echo REACHED; timeout 3 nc -w 2 203.0.113.80 80 </dev/null && echo OUT; nslookup example.org >/dev/null 2>&1 && echo DNS; echo done`])
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.trim().split('\n'), [ok(sb, ['inspect', '-f', '{{.Config.Hostname}}', 's1']).trim(), '0', 'done'], r.describe())
})

t('ports published from a bridge network (TCP and UDP) reach the container; the host sees nothing else of it', async () => {
  if (!ready('bridge: published port')) return
  load(sb)
  const before = readdirSync('/sys/class/net').sort()
  ok(sb, ['network', 'create', 'pub'])
  ok(sb, ['run', '-d', '--name', 'pub1', '--network', 'pub', '-p', '127.0.0.1::8080', 'busybox', ...SERVER])
  const port = ok(sb, ['port', 'pub1', '8080/tcp']).trim().split(':').pop()
  let body = ''
  for (let i = 0; i < 50 && !body; i++) {
    try {
      body = await (await fetch(`http://127.0.0.1:${port}/who`, { signal: AbortSignal.timeout(2000) })).text()
    } catch {
      await sleep(100)
    }
  }
  assert.is(body.trim(), ok(sb, ['inspect', '-f', '{{.Config.Hostname}}', 'pub1']).trim())
  assert.equal(readdirSync('/sys/class/net').sort(), before)
  // UDP: a session per client, answers from the host port
  ok(sb, ['load', '-q', '-i', udpEchoImage()])
  ok(sb, ['run', '-d', '--name', 'echo1', '--network', 'pub', '-p', '127.0.0.1::9999/udp', 'udpecho', 'udpecho', '9999'])
  const udp = Number(ok(sb, ['port', 'echo1', '9999/udp']).trim().split(':').pop())
  assert.is(await udpAsk(udp, 'hi'), 'echo:hi')
  assert.is(await udpAsk(udp, 'again'), 'echo:again')
})

/** `text` to 127.0.0.1:port over UDP, from a new client socket; the answer (retried while the container starts). */
async function udpAsk(port: number, text: string): Promise<string> {
  const { createSocket } = await import('node:dgram')
  for (let i = 0; i < 30; i++) {
    const s = createSocket('udp4')
    const got = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 300)
      s.on('message', (m) => {
        clearTimeout(timer)
        resolve(m.toString())
      })
      s.send(text, port, '127.0.0.1')
    })
    s.close()
    if (got) return got
  }
  assert.unreachable('no answer over UDP through the published port')
  return ''
}

t('connect and disconnect a running container; a rename is resolved at once', () => {
  if (!ready('bridge: connect')) return
  load(sb)
  ok(sb, ['network', 'create', 'one'])
  ok(sb, ['network', 'create', 'two'])
  ok(sb, ['run', '-d', '--name', 'svc', '--network', 'one', 'busybox', ...SERVER])
  ok(sb, ['network', 'connect', '--alias', 'svc-two', 'two', 'svc'])
  const who = ok(sb, ['inspect', '-f', '{{.Config.Hostname}}', 'svc']).trim()
  assert.is(ok(sb, ['run', '--rm', '--network', 'two', 'busybox', 'wget', '-qO-', 'http://svc-two:8080/who']).trim(), who)
  assert.match(ok(sb, ['exec', 'svc', 'ip', '-o', 'link']), /eth1/)
  ok(sb, ['rename', 'svc', 'renamed'])
  assert.is(ok(sb, ['run', '--rm', '--network', 'one', 'busybox', 'wget', '-qO-', 'http://renamed:8080/who']).trim(), who)
  // on two networks: names of both resolve (asked of the first one's server), and it routes to both
  ok(sb, ['run', '-d', '--name', 'only2', '--network', 'two', 'busybox', ...SERVER])
  const both = sb.run(['run', '--rm', '--network', 'one', '--network', 'two', 'busybox', 'sh', '-c', 'wget -qO- http://only2:8080/who >/dev/null && wget -qO- http://renamed:8080/who && ip -o link | grep -c eth'])
  assert.is(both.status, 0, both.describe())
  assert.equal(both.stdout.trim().split('\n'), [who, '2'])
  ok(sb, ['network', 'disconnect', 'two', 'renamed'])
  const r = sb.run(['run', '--rm', '--network', 'two', 'busybox', 'sh', '-c', 'nslookup svc-two >/dev/null 2>&1 && echo FOUND; echo done'])
  assert.is(r.stdout.trim(), 'done', r.describe())
  assert.not.match(ok(sb, ['exec', 'renamed', 'ip', '-o', 'link']), /eth1/)
  // connected again: the first free interface name; the last network cannot be taken away
  ok(sb, ['network', 'connect', 'two', 'renamed'])
  assert.match(ok(sb, ['exec', 'renamed', 'ip', '-o', 'link']), /eth1/)
  ok(sb, ['network', 'disconnect', 'one', 'renamed'])
  ok(sb, ['network', 'connect', 'one', 'renamed'])
  assert.match(ok(sb, ['exec', 'renamed', 'ip', '-o', 'link']), /eth0[\s\S]*eth1|eth1[\s\S]*eth0/)
  const last = sb.run(['network', 'disconnect', '-f', 'two', 'only2'])
  assert.is(last.status, 125, last.describe())
  assert.match(last.stderr, /only network/)
})

t('errors: a clear line and Docker\'s status for each mistake', () => {
  if (!ready('bridge: errors')) return
  load(sb)
  const fail = (args: string[], status: number, re: RegExp) => {
    const r = sb.run(args)
    assert.is(r.status, status, r.describe())
    assert.match(r.stderr, re)
    assert.not.match(r.stderr, /internal error|\n\s+at /)
  }
  ok(sb, ['network', 'create', '--subnet', '10.77.0.0/24', 'n1'])
  fail(['network', 'create', 'n1'], 125, /network with name n1 already exists/)
  fail(['network', 'create', '--subnet', '10.77.0.0/25', 'n2'], 125, /overlaps network n1/)
  fail(['network', 'create', '--subnet', '10.77.1.5/24', 'n3'], 125, /bits set beyond the prefix/)
  fail(['network', 'create', '--driver', 'macvlan', 'n4'], 125, /only the bridge driver/)
  fail(['network', 'create', '--opt', 'foo=1', 'n5'], 125, /does not support this bridge option/)
  fail(['network', 'create', 'host'], 125, /network mode's name/)
  fail(['network', 'rm', 'nosuch'], 1, /No such network: nosuch/)
  assert.is(sb.run(['network', 'rm', '-f', 'nosuch']).status, 0)
  fail(['network', 'rm', 'bridge'], 125, /default network and cannot be removed/)
  fail(['run', '--rm', '--network', 'nosuch', 'busybox', 'true'], 125, /No such network: nosuch/)
  fail(['run', '--rm', '--network', 'n1', '--ip', '10.77.5.5', 'busybox', 'true'], 125, /--ip 10\.77\.5\.5 is not a free host address of network n1/)
  fail(['run', '--rm', '--network', 'host', '--network', 'n1', 'busybox', 'true'], 125, /only bridge networks can be combined/)
  fail(['run', '--rm', '--ip', '10.77.0.9', 'busybox', 'true'], 125, /--ip needs a bridge network/)
  ok(sb, ['run', '-d', '--name', 'fixed', '--network', 'n1', '--ip', '10.77.0.9', 'busybox', 'sleep', '300'])
  assert.is(ok(sb, ['exec', 'fixed', 'sh', '-c', 'ip -4 -o addr show eth0 | awk \'{print $4}\'']).trim(), '10.77.0.9/24')
  fail(['run', '--rm', '--network', 'n1', '--ip', '10.77.0.9', 'busybox', 'true'], 125, /address 10\.77\.0\.9 on network n1 is held by another container/)
  fail(['network', 'rm', 'n1'], 125, /network n1 is used by container fixed/)
  ok(sb, ['rm', '-f', 'fixed'])
  assert.is(ok(sb, ['network', 'rm', 'n1']).trim(), 'n1')
  ok(sb, ['network', 'create', 'spare'])
  assert.match(ok(sb, ['network', 'prune']), /Deleted Networks:\nspare\n/)
})

t('parallel starts with skiff processes killed -9: no address given twice; a killed keeper is repaired', async () => {
  if (!ready('bridge: kill -9')) return
  load(sb)
  ok(sb, ['network', 'create', 'busy'])
  const starts = Array.from({ length: 16 }, (_, i) => sb.start(['run', '-d', '--name', `c${i}`, '--network', 'busy', 'busybox', 'sleep', '300']))
  // kill some of them, at different moments of their start
  for (let k = 0; k < 5; k++) {
    await sleep(40 + 60 * k)
    starts[k * 3]!.child.kill('SIGKILL')
    const shims = processes(/shim-[0-9a-f]+ run\b/)
    try {
      if (shims.length) process.kill(shims[shims.length - 1]!, 'SIGKILL')
    } catch {} // gone meanwhile
  }
  await Promise.all(starts.map((s) => s.done))
  const more = Array.from({ length: 6 }, (_, i) => sb.start(['run', '-d', '--name', `d${i}`, '--network', 'busy', 'busybox', 'sleep', '300']))
  for (const s of more) assert.is((await s.done).status, 0)
  const addrs = addresses(sb, 'busy')
  assert.ok(addrs.length >= 6, addrs.join(' '))
  assert.is(new Set(addrs).size, addrs.length, `an address given twice: ${addrs.sort().join(' ')}`)

  // the keeper killed: the next start repairs it, and the containers reach each other again
  const k = keeperPid(sb)
  assert.ok(k, 'a keeper runs')
  process.kill(k!, 'SIGKILL')
  await sleep(300)
  ok(sb, ['run', '-d', '--name', 'late', '--network', 'busy', 'busybox', 'sleep', '300'])
  assert.ok(keeperPid(sb) && keeperPid(sb) !== k)
  const r = sb.run(['exec', 'd0', 'sh', '-c', 'ping -c1 -W2 late >/dev/null && ping -c1 -W2 d1 >/dev/null && echo ok'])
  assert.is(r.stdout.trim(), 'ok', r.describe())
  const after = addresses(sb, 'busy')
  assert.is(new Set(after).size, after.length, after.join(' '))
})

t('the keeper goes when the last container on a bridge network ends', async () => {
  if (!ready('bridge: keeper lifetime')) return
  load(sb)
  ok(sb, ['run', '--rm', '--network', 'bridge', 'busybox', 'true'])
  let k = keeperPid(sb)
  for (let i = 0; i < 100 && k; i++) {
    await sleep(100)
    k = keeperPid(sb)
  }
  assert.is(k, undefined, 'the keeper is still there 10 s after the last container')
})

t.run()
