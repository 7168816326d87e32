// skiff run, for real: dist/skiff as an unprivileged user, real namespaces, the busybox image.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { hostname as hostHostname } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, useSandbox, type Sandbox } from './helpers/env.js'

const run = suite('run')
const sb = useSandbox(run)

function ready(what: string): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox())
}

function load(s: Sandbox): void {
  const r = s.run(['load', '-q', '-i', busyboxArchive('docker')])
  assert.is(r.status, 0, r.describe())
}

function subRange(file: string): [number, number] {
  const me = process.env.USER ?? ''
  const uid = String(process.getuid!())
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${me}:`) || l.startsWith(`${uid}:`))!
  const [, start, count] = line.split(':')
  return [Number(start), Number(count)]
}

run('pid 1, own hostname, subordinate id map, root inside', () => {
  if (!ready('run basics')) return
  load(sb)
  const r = sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'echo $$; hostname; cat /proc/self/uid_map; id'])
  assert.is(r.status, 0, r.describe())
  const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '))
  assert.is(lines[0], '1')
  assert.is.not(lines[1], hostHostname())
  assert.match(lines[1]!, /^[0-9a-f]{12}$/)
  const [start, count] = subRange('/etc/subuid')
  assert.is(lines[2], `0 ${process.getuid!()} 1`)
  assert.is(lines[3], `1 ${start} ${count}`)
  assert.match(lines[4]!, /^uid=0\(root\) gid=0\(root\)/)
})

run('exit status and signals propagate', async () => {
  if (!ready('exit status')) return
  load(sb)
  assert.is(sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'exit 42']).status, 42)
  assert.is(sb.run(['run', '--rm', 'busybox', 'false']).status, 1)
  // pid 1 ignores signals it has no handler for, even SIGKILL from inside its namespace (as
  // in Docker); killed from outside, the status is 128+9.
  const { done } = sb.start(['run', '--rm', 'busybox', 'sleep', '37.25'])
  await killWhenRunning(['sleep', '37.25'], 'SIGKILL')
  assert.is((await done).status, 137)
  const missing = sb.run(['run', '--rm', 'busybox', 'no-such-command'])
  assert.is(missing.status, 127, missing.describe())
  assert.match(missing.stderr, /no-such-command.*not found/)
})

run('SIGTERM to skiff reaches the container, which may trap it', async () => {
  if (!ready('signals')) return
  load(sb)
  const { child, done } = sb.start(['run', '--rm', 'busybox', 'sh', '-c', 'trap "echo got TERM; exit 3" TERM; echo ready; while true; do sleep 0.1; done'])
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (s: string | Buffer) => String(s).includes('ready') && resolve())
  })
  child.kill('SIGTERM')
  const r = await done
  assert.is(r.status, 3, r.describe())
  assert.match(r.stdout, /got TERM/)
})

run('stdin and stdout pass straight through, binary-safe', () => {
  if (!ready('stdio')) return
  load(sb)
  const bytes = Buffer.alloc(256 * 1024)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff
  const r = sb.run(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo err >&2'], { input: bytes })
  assert.is(r.status, 0, r.describe())
  assert.is(r.stdout.length > 0, true)
  assert.is(r.stderr.trim().split('\n').pop(), 'err')
  const rb = sb.run(['run', '--rm', '-i', 'busybox', 'wc', '-c'], { input: bytes })
  assert.is(rb.stdout.trim(), String(bytes.length))
  // without -i the container's stdin is empty, as in Docker
  const closed = sb.run(['run', '--rm', 'busybox', 'wc', '-c'], { input: 'not for the container' })
  assert.is(closed.stdout.trim(), '0', closed.describe())
})

run('image config and flags: env, env-file, workdir, user, hostname, entrypoint', () => {
  if (!ready('flags')) return
  load(sb)
  const envFile = join(sb.tmp, 'env')
  writeFileSync(envFile, '# comment\nFROM_FILE=1\nB=file\n')
  const r = sb.run(['run', '--rm', '-e', 'A=1', '-e', 'B=flag', '--env-file', envFile, '-w', '/tmp', '-h', 'box', 'busybox', 'sh', '-c', 'echo $A $B $FROM_FILE; pwd; hostname; cat /etc/hostname; echo $HOME'])
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.trim().split('\n'), ['1 flag 1', '/tmp', 'box', 'box', '/root'])
  const app = sb.run(['run', '--rm', '-u', 'app', 'busybox', 'sh', '-c', 'id -u; id -g; id -G; echo $HOME'])
  assert.is(app.status, 0, app.describe())
  assert.equal(app.stdout.trim().split('\n'), ['1000', '1000', '1000 2000', '/home/app'])
  const numeric = sb.run(['run', '--rm', '-u', '1234:5678', 'busybox', 'id'])
  assert.match(numeric.stdout, /uid=1234 gid=5678/)
  const ep = sb.run(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint'])
  assert.is(ep.stdout, 'from entrypoint\n')
  const unknown = sb.run(['run', '--rm', '-u', 'nobody-here', 'busybox', 'true'])
  assert.is(unknown.status, 125)
  assert.match(unknown.stderr, /unable to find user nobody-here/)
})

run('files keep the image owners as mapped ids; the container user can write its home', () => {
  if (!ready('ownership')) return
  load(sb)
  const r = sb.run(['run', '--rm', '-u', 'app', 'busybox', 'sh', '-c', 'stat -c "%u:%g" /home/app /bin/busybox; touch /home/app/new && echo wrote'])
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.trim().split('\n'), ['1000:1000', '0:0', 'wrote'])
})

run('isolation: masked /proc paths, read-only /proc/sys, capabilities, no_new_privs; no signal ignored or blocked', () => {
  if (!ready('isolation')) return
  load(sb)
  const r = sb.run(['run', '--rm', 'busybox', 'sh', '-c',
    'cat /proc/keys /proc/timer_list | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo ro; grep -E "^(CapEff|CapBnd|CapPrm|CapInh|CapAmb|NoNewPrivs)" /proc/self/status'])
  assert.is(r.status, 0, r.describe())
  const out = r.stdout
  assert.match(out, /^0\n0\nro\n/)
  assert.match(out, /CapInh:\s+0000000000000000/)
  assert.match(out, /CapPrm:\s+00000000a80425fb/)
  assert.match(out, /CapEff:\s+00000000a80425fb/)
  assert.match(out, /CapBnd:\s+00000000a80425fb/)
  assert.match(out, /CapAmb:\s+0000000000000000/)
  assert.match(out, /NoNewPrivs:\s+1/)
  // as Docker's (the command itself, not under busybox's sh, which ignores SIGQUIT for its
  // children): skiff ignores SIGPIPE, and posix_spawn leaves glibc's two own signals ignored
  const sig = sb.run(['run', '--rm', 'busybox', 'grep', '-E', '^Sig(Ign|Blk)', '/proc/self/status'])
  assert.match(sig.stdout, /SigBlk:\s+0000000000000000\nSigIgn:\s+0000000000000000\n/, sig.describe())
  const app = sb.run(['run', '--rm', '-u', 'app', 'busybox', 'grep', 'CapEff', '/proc/self/status'])
  assert.match(app.stdout, /CapEff:\s+0000000000000000/)
})

run('only loopback in the network namespace (--network=none); /dev is minimal', () => {
  if (!ready('namespaces')) return
  load(sb)
  const r = sb.run(['run', '--rm', '--network=none', 'busybox', 'sh', '-c', 'ls /sys/class/net; ls /dev'])
  assert.is(r.status, 0, r.describe())
  const [net, ...dev] = r.stdout.trim().split('\n')
  assert.is(net, 'lo')
  for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'pts', 'shm', 'ptmx', 'fd']) assert.ok(dev.includes(d), `/dev/${d}: ${dev.join(' ')}`)
  assert.not.ok(dev.includes('sda') || dev.includes('vda') || dev.includes('kmsg'), dev.join(' '))
})

run('--rm leaves nothing behind; without it the container is listed by ps -a until rm', () => {
  if (!ready('cleanup')) return
  load(sb)
  const r = sb.run(['run', '--rm', '-u', 'app', 'busybox', 'sh', '-c', 'echo x > /home/app/f; mkdir -p /tmp/d/e; chmod 0500 /tmp/d'])
  assert.is(r.status, 0, r.describe())
  const containers = sb.run(['run', '--rm', 'busybox', 'true'])
  assert.is(containers.status, 0)
  assert.equal(dirEntries(join(sb.root, 'containers')), [])
  const kept = sb.run(['run', '-u', 'app', 'busybox', 'sh', '-c', 'echo x > /home/app/f; exit 3'])
  assert.is(kept.status, 3)
  assert.is(dirEntries(join(sb.root, 'containers')).length, 1)
  const ps = sb.run(['ps', '-a'])
  assert.match(ps.stdout, /CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS/)
  assert.match(ps.stdout, /busybox\s+"sh -c echo x > \/hom…"\s+.*Exited \(3\)/)
  assert.is(sb.run(['ps', '-q']).stdout, '', 'nothing running')
  const id = sb.run(['ps', '-aq']).stdout.trim()
  assert.match(id, /^[0-9a-f]{12}$/)
  const rm = sb.run(['rm', id])
  assert.is(rm.status, 0, rm.describe())
  assert.equal(dirEntries(join(sb.root, 'containers')), [])
  assert.equal(dirEntries(join(sb.root, 'tmp')), [])
  assert.match(sb.run(['rm', id]).stderr, /No such container/)
})

/** Waits (up to 10 s) until `ok()`: for work a command leaves to go on behind its answer. */
async function eventually(ok: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50))
  return ok()
}

run('--rm answers once the container is out of the store; its files and anonymous volumes go behind; debris is swept', async () => {
  if (!ready('removal behind the answer')) return
  load(sb)
  const r = sb.run(['run', '--rm', '-v', '/data', '-u', 'app', 'busybox', 'sh', '-c', 'echo x > /data/f; echo y > /home/app/g; mkdir -p /tmp/d/e; chmod 0500 /tmp/d; echo done'])
  assert.is(r.status, 0, r.describe())
  assert.is(r.stdout, 'done\n')
  // at once: no record, no listing, no volume
  assert.equal(dirEntries(join(sb.root, 'containers')), [])
  assert.is(sb.run(['ps', '-aq']).stdout, '')
  assert.is(sb.run(['volume', 'ls', '-q']).stdout, '')
  // then the files, moved to tmp/ as removing-<pid>-<n>, go too
  assert.ok(await eventually(() => dirEntries(join(sb.root, 'tmp')).length === 0), dirEntries(join(sb.root, 'tmp')).join(' '))

  // a waiter killed before it was done leaves removing-<pid>-<n> in tmp/, with files of mapped
  // owners the user cannot delete from outside: the next load clears it
  const dead = spawnSync('true').pid!
  const debris = join(sb.root, 'tmp', `removing-${dead}-0`)
  mkdirSync(debris)
  const made = sb.run(['run', '--rm', '-v', `${debris}:/d`, 'busybox', 'sh', '-c', 'mkdir /d/x && touch /d/x/f && chown -R 1000:1000 /d/x && chmod 0500 /d/x'])
  assert.is(made.status, 0, made.describe())
  assert.throws(() => rmSync(debris, { recursive: true }), /EACCES|EPERM/)
  load(sb)
  assert.not.ok(existsSync(debris), 'the debris was swept')
})

run('a pty session: -it gives a real terminal, input and window size reach it', async () => {
  if (!need('pty', probe.skiff(), probe.rootless(), probe.busybox(), probe.python())) return
  load(sb)
  const r = await sb.pty(['run', '--rm', '-it', 'busybox', 'sh'], [
    // busybox ash asks the terminal for the cursor position (ESC [6n) after its prompt
    { expect: /# (\x1b\[6n|\x1b\[J)?$/ },
    { send: 'tty; stty size; echo $TERM\r' },
    { expect: /\/dev\/pts\/0\r\n30 100\r\nxterm/ },
    { resize: [40, 120] },
    { send: 'stty size\r' },
    { expect: /40 120/ },
    { send: 'exit 7\r' },
  ], { rows: 30, cols: 100 })
  assert.is(r.error, null, r.output)
  assert.is(r.status, 7, r.output)
})

run('without subordinate ranges (SKIFF_IDMAP=single) it still runs, with a warning', () => {
  if (!ready('single mapping')) return
  load(sb)
  const r = sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'cat /proc/self/uid_map; id -u'], { env: { SKIFF_IDMAP: 'single' } })
  assert.is(r.status, 0, r.describe())
  const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '))
  assert.equal(lines, [`0 ${process.getuid!()} 1`, '0'])
  assert.match(r.stderr, /warning: .*single id mapping/)
})

run('a newuidmap that fails at run time: the single mapping, with a warning that quotes it', () => {
  if (!ready('failing helper')) return
  const failing = '/var/lib/skiff-test/failing-idmap'
  const setuid = (() => {
    try {
      return (statSync(`${failing}/newuidmap`).mode & 0o4000) !== 0
    } catch {
      return false
    }
  })()
  if (!need('failing helper', { ok: setuid, reason: `no setuid ${failing}/newuidmap: run test/setup-host.sh as root` })) return
  load(sb)
  // PATH finds the failing newuidmap first; skiff starts the shim early with the helper maps
  // (the prelude), sees it fail, and runs again with the single mapping
  const r = sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'cat /proc/self/uid_map; ls /dev/pts/ptmx'], { env: { PATH: `${failing}:${process.env.PATH}` } })
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), [`0 ${process.getuid!()} 1`, '/dev/pts/ptmx'])
  assert.match(r.stderr, /warning: newuidmap failed: .*single id mapping/)
})

/** Find a process of ours by its exact argv (the container's, seen from the host) and signal it. */
async function killWhenRunning(argv: string[], signal: NodeJS.Signals): Promise<void> {
  const want = argv.join('\0') + '\0'
  for (let i = 0; i < 200; i++) {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') === want) {
          process.kill(Number(pid), signal)
          return
        }
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no process ${argv.join(' ')} appeared`)
}

function dirEntries(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

run.run()
