// Two real unprivileged users on one machine (issue 19): user B makes, before user A's first
// command, the paths in a shared /tmp that skiff would use for A — the runtime directory's
// fallback, the short-socket fallback for long paths, the storage fallback off a network home — as
// a world-writable directory or a symlink, and A's containers must not land in them. Runs as root
// only to switch between the two users (runuser) and to mount a small tmpfs (a full disk); skiff
// itself runs as A and B. And B gets nothing of A's containers: logs, terminal, signals. Does I/O.
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, probe, removeTree, requireEnv, skiffBin, tempDir } from './helpers/env.js'

const t = suite('shared paths, two users')

const userA = process.env.SKIFF_TEST_USER || 'skiff-test'
const userB = process.env.SKIFF_TEST_OTHER_USER || 'skiff-test-b'

function idOf(user: string): number | undefined {
  const r = spawnSync('id', ['-u', user], { encoding: 'utf8' })
  return r.status === 0 ? Number(r.stdout.trim()) : undefined
}

function ready(what: string): boolean {
  if (!requireEnv(what, process.getuid?.() === 0, 'runs as root, to act as two users (npm test as root runs it)')) return false
  if (!requireEnv(what, idOf(userA) !== undefined && idOf(userB) !== undefined, `users ${userA} and ${userB} are missing: bash test/setup-host.sh (as root) makes them`)) return false
  if (!requireEnv(what, probe.skiff().ok, probe.skiff().reason)) return false
  // A must reach the executable: the integration tests' copy is the user's; a repo under /root is not
  return requireEnv(what, spawnSync('runuser', ['-u', userA, '--', 'test', '-x', skiffBin]).status === 0, `${userA} cannot run ${skiffBin}: set SKIFF_BIN to a copy it can reach`)
}

interface Who {
  user: string
  uid: number
  env: Record<string, string>
}

/** Runs `argv` as `who`, in a clean environment. */
function as(who: Who, argv: string[], extra: Record<string, string | undefined> = {}): { status: number | null; stdout: string; stderr: string; describe(): string } {
  const env = { ...who.env, ...extra }
  const pairs = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`)
  const r = spawnSync('runuser', ['-u', who.user, '--', 'env', '-i', ...pairs, ...argv], { encoding: 'utf8', timeout: 60_000, cwd: '/' })
  return {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    describe: () => `${who.user}$ ${argv.join(' ')} → ${r.status}\n${r.stdout}${r.stderr}`,
  }
}

/**
 * A world: a shared directory that behaves as /tmp (root's, mode 1777) and, for each user, a
 * private home with skiff's storage and cache, and no XDG_RUNTIME_DIR (as under su, cron, ssh
 * without PAM, Slurm batch steps).
 */
function world(): { shared: string; a: Who; b: Who; image: string } {
  // short: the socket fallback must fit in a socket address
  const shared = tempDir('sk-')
  chmodSync(shared, 0o1777)
  const make = (user: string): Who => {
    const uid = idOf(user)!
    const home = join(shared, `home-${user}`)
    mkdirSync(home, { mode: 0o700 })
    chownSync(home, uid, uid)
    return {
      user,
      uid,
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
        HOME: home,
        USER: user,
        LOGNAME: user,
        LANG: 'C.UTF-8',
        TMPDIR: shared,
        SKIFF_ROOT: join(home, 'storage'),
      },
    }
  }
  const a = make(userA)
  const b = make(userB)
  const image = join(a.env.HOME!, 'busybox.tar')
  copyFileSync(busyboxArchive('docker'), image)
  chownSync(image, a.uid, a.uid)
  return { shared, a, b, image }
}

/** The attach socket skiff recorded for container `name` of A (read as root from A's store). */
function attachSocket(a: Who, name: string): string {
  const root = a.env.SKIFF_ROOT!
  for (const id of readdirSync(join(root, 'containers'))) {
    const rec = JSON.parse(readFileSync(join(root, 'containers', id, 'container.json'), 'utf8'))
    if (rec.name === name) return rec.attachSocket
  }
  throw new Error(`no container ${name}`)
}

function assertPrivate(dir: string, uid: number): void {
  const st = lstatSync(dir)
  assert.ok(st.isDirectory() && !st.isSymbolicLink(), `${dir} is a directory`)
  assert.is(st.uid, uid, `${dir} belongs to uid ${uid}`)
  assert.is(st.mode & 0o077, 0, `${dir} is closed to others (mode ${(st.mode & 0o7777).toString(8)})`)
}

t('the runtime fallback made first by another user, mode 0777: skiff makes a private one, remembers it, and B reaches nothing', () => {
  if (!ready('two users')) return
  const { shared, a, b, image } = world()
  try {
    assert.is(as(a, [skiffBin, 'load', '-q', '-i', image]).status, 0)
    const taken = join(shared, `skiff-run-${a.uid}`)
    assert.is(as(b, ['mkdir', '-m', '0777', taken]).status, 0)
    const r = as(a, [skiffBin, 'run', '-d', '-t', '--name', 'victim', 'busybox', 'sh'])
    assert.is(r.status, 0, r.describe())
    assert.match(r.stderr, new RegExp(`${taken} is not safe to use \\(it belongs to uid ${b.uid}, mode 0777\\): using ${taken}-\\S+ instead`))
    const sock = attachSocket(a, 'victim')
    assert.ok(!sock.startsWith(`${taken}/`), `the socket ${sock} is not in B's directory`)
    assertPrivate(join(sock, '..'), a.uid)
    assert.equal(readdirSync(taken), [], 'nothing of A in B\'s directory')
    assert.ok(existsSync(sock), 'the attach socket is there')
    // B cannot list, replace or connect to it
    assert.is.not(as(b, ['ls', join(sock, '..')]).status, 0)
    assert.is.not(as(b, ['mv', sock, join(shared, 'stolen.sock')]).status, 0)
    assert.ok(existsSync(sock))
    // A's next container uses the same private directory (remembered), with no second warning
    const again = as(a, [skiffBin, 'run', '-d', '-t', '--name', 'second', 'busybox', 'sh'])
    assert.is(again.status, 0, again.describe())
    assert.is(again.stderr, '')
    assert.is(join(attachSocket(a, 'second'), '..'), join(sock, '..'))
    assert.is(readdirSync(shared).filter((n) => n.startsWith(`skiff-run-${a.uid}-`)).length, 1)
    assert.is(as(a, [skiffBin, 'rm', '-f', 'victim', 'second']).status, 0)
  } finally {
    as(a, [skiffBin, 'rm', '-f', 'victim', 'second'])
    removeTree(shared)
  }
})

t('a symlink planted at the runtime fallback is not followed; a SKIFF_RUNROOT of another user is refused with one clear line', () => {
  if (!ready('two users')) return
  const { shared, a, b, image } = world()
  try {
    assert.is(as(a, [skiffBin, 'load', '-q', '-i', image]).status, 0)
    const bDir = join(shared, 'b-catch')
    assert.is(as(b, ['mkdir', '-m', '0777', bDir]).status, 0)
    const taken = join(shared, `skiff-run-${a.uid}`)
    assert.is(as(b, ['ln', '-s', bDir, taken]).status, 0)
    const r = as(a, [skiffBin, 'run', '-d', '-t', '--name', 'victim', 'busybox', 'sh'])
    assert.is(r.status, 0, r.describe())
    assert.match(r.stderr, /is not safe to use \(it is a symbolic link\)/)
    assert.equal(readdirSync(bDir), [])
    assertPrivate(join(attachSocket(a, 'victim'), '..'), a.uid)
    assert.is(as(a, [skiffBin, 'rm', '-f', 'victim']).status, 0)
    // a directory the user named but does not own: an error that names it, its owner and mode
    const refused = as(a, [skiffBin, 'run', '-d', '-t', '--name', 'refused', 'busybox', 'sh'], { SKIFF_RUNROOT: bDir })
    assert.is(refused.status, 125, refused.describe())
    assert.match(refused.stderr, new RegExp(`^Error: the runtime directory ${bDir} is not safe to use: it belongs to uid ${b.uid}, mode 0777\\n  hint: .*SKIFF_RUNROOT`))
    assert.equal(readdirSync(bDir), [])
    assert.not.match(refused.stderr, /internal error|at .*\.js/)
  } finally {
    as(a, [skiffBin, 'rm', '-f', 'victim', 'refused'])
    removeTree(shared)
  }
})

t('the short-socket fallback for a long runtime path, made first by another user: a private one instead', () => {
  if (!ready('two users')) return
  const { shared, a, b, image } = world()
  try {
    assert.is(as(a, [skiffBin, 'load', '-q', '-i', image]).status, 0)
    // a runtime directory of A's own whose socket paths would not fit in 108 bytes
    const long = join(a.env.HOME!, 'r'.repeat(100))
    assert.is(as(a, ['mkdir', '-m', '0700', long]).status, 0)
    const taken = join(shared, `skiff-run-${a.uid}`)
    assert.is(as(b, ['mkdir', '-m', '0777', taken]).status, 0)
    const r = as(a, [skiffBin, 'run', '-d', '-t', '--name', 'victim', 'busybox', 'sh'], { SKIFF_RUNROOT: long })
    assert.is(r.status, 0, r.describe())
    const sock = attachSocket(a, 'victim')
    assert.ok(sock.length < 108 && sock.startsWith(`${taken}-`), sock)
    assertPrivate(join(sock, '..'), a.uid)
    assert.equal(readdirSync(taken), [])
    assert.is(as(a, [skiffBin, 'rm', '-f', 'victim']).status, 0)
  } finally {
    as(a, [skiffBin, 'rm', '-f', 'victim'])
    removeTree(shared)
  }
})

t("another user gets nothing of A's: not the logs, the terminal, a signal, nor a look at the store", () => {
  if (!ready('two users')) return
  const { shared, a, b, image } = world()
  try {
    assert.is(as(a, [skiffBin, 'load', '-q', '-i', image]).status, 0)
    const r = as(a, [skiffBin, 'run', '-d', '-t', '--name', 'private', 'busybox', 'sh', '-c', 'echo the-secret-line; sleep 60'])
    assert.is(r.status, 0, r.describe())
    const field = (f: string) => as(a, [skiffBin, 'inspect', '-f', `{{${f}}}`, 'private']).stdout.trim()
    for (let i = 0; i < 50 && !as(a, [skiffBin, 'logs', 'private']).stdout.includes('the-secret-line'); i++) spawnSync('sleep', ['0.1'])
    const logPath = field('.LogPath')
    const pid = field('.State.Pid')
    assert.ok(logPath && Number(pid) > 0, `${logPath} ${pid}`)
    // the files: B can open none of them, nor list the store
    for (const path of [logPath, a.env.SKIFF_ROOT!, join(a.env.SKIFF_ROOT!, 'containers')]) {
      const tried = as(b, ['cat', path])
      assert.is.not(tried.status, 0, tried.describe())
      assert.not.match(tried.stdout, /the-secret-line/)
    }
    // skiff as B on A's store: refused before anything is read
    const theirs = as(b, [skiffBin, 'logs', 'private'], { SKIFF_ROOT: a.env.SKIFF_ROOT })
    assert.is(theirs.status, 125, theirs.describe())
    assert.not.match(theirs.stdout + theirs.stderr, /the-secret-line|internal error/)
    // the terminal: B cannot connect to the attach socket
    const connect = as(b, ['python3', '-c', 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])', attachSocket(a, 'private')])
    assert.is.not(connect.status, 0, connect.describe())
    // a signal: the kernel refuses it (another uid), and the container runs on
    assert.is.not(as(b, ['kill', '-TERM', pid]).status, 0)
    assert.is(field('.State.Status'), 'running')
    // what A's state is made of: the store and the runtime directory closed to others
    assertPrivate(a.env.SKIFF_ROOT!, a.uid)
    assertPrivate(join(attachSocket(a, 'private'), '..'), a.uid)
    assert.is(as(a, [skiffBin, 'rm', '-f', 'private']).status, 0)
  } finally {
    as(a, [skiffBin, 'rm', '-f', 'private'])
    removeTree(shared)
  }
})

t('a full disk under the store: one line that says so, and the store as it was', () => {
  if (!ready('full disk')) return
  const { shared, a, image } = world()
  const small = join(shared, 'small')
  mkdirSync(small)
  assert.is(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', small]).status, 0)
  try {
    chownSync(small, a.uid, a.uid)
    const store = { SKIFF_ROOT: join(small, 'store') }
    const r = as(a, [skiffBin, 'load', '-i', image], store)
    assert.is(r.status, 125, r.describe())
    // the archive's blobs fill the disk while they are staged (the space check before the unpack
    // comes after them); either way one line
    assert.match(r.stderr, /^Error: (no space left on device|loading the archive needs at least [\d.]+ MB in [^\n]*, which has [\d.]+ MB free)[^\n]*\n  hint: [^\n]*skiff system prune[^\n]*\n$/)
    assert.is(as(a, [skiffBin, 'images', '-q'], store).stdout, '')
    assert.equal(readdirSync(join(small, 'store', 'tmp')).filter((f) => !f.endsWith('.lock')), [], 'nothing half-made left in tmp/')
    assert.equal(readdirSync(join(small, 'store', 'blobs', 'sha256')), [])
  } finally {
    spawnSync('umount', ['-l', small])
    removeTree(shared)
  }
})

t.run()
