// Fuzzing and property tests of every parser that takes outside input. Deterministic (a seeded
// generator: the same cases each run, a failure is reproducible by its seed) and bounded (seconds).
// The property: a parser returns, or throws a SkiffError that the user sees as one line; any other
// exception (TypeError, RangeError...) is a bug that would reach the user as "internal error".
// Unpacking hostile layers and loading hostile archives also must write nothing outside their
// directory. The shim's C parsers run under libFuzzer (test/fuzz/run.sh) for a few seconds.
// Does I/O (temporary directories; runs clang).
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { oneLine } from '../cmd/report.js'
import { parseEnvFile, parseSize } from '../cmd/run-options.js'
import { isSkiffError } from '../core/errors.js'
import { readArchive } from '../core/image/archive.js'
import { manifestDocument } from '../core/image/pull.js'
import { parseChallenge } from '../core/image/registry.js'
import { compileSeccomp, type SeccompProfile } from '../core/launch/seccomp.js'
import { parseMount, parseTmpfs, parseVolume } from '../core/launch/mount-spec.js'
import { securityOptions } from '../core/launch/security-opts.js'
import { parseSysctls } from '../core/launch/sysctl.js'
import { parseUlimit } from '../core/launch/ulimit.js'
import { parsePublish } from '../core/net/network.js'
import { normalizeReference, parseReference } from '../core/reference.js'
import { unpackLayer } from '../core/storage/layer-unpack.js'
import { layerTar, type LayerEntry } from './fixtures/image.js'
import { repoRoot, requireEnv, tempDir } from './helpers/env.js'

function rng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
}

/** Strings made of `alphabet`, and mutations (cuts, repeats, swapped bytes) of `seeds`. */
function* strings(seed: number, count: number, alphabet: string, seeds: string[]): Generator<string> {
  const r = rng(seed)
  const pick = <T>(xs: T[] | string): T => xs[Math.floor(r() * xs.length)] as T
  for (let i = 0; i < count; i++) {
    if (r() < 0.4) {
      yield Array.from({ length: Math.floor(r() * 40) }, () => pick<string>(alphabet)).join('')
      continue
    }
    let s = pick(seeds)
    for (let m = Math.floor(r() * 4); m >= 0; m--) {
      const at = Math.floor(r() * (s.length + 1))
      const op = r()
      if (op < 0.3) s = s.slice(0, at) + pick<string>(alphabet) + s.slice(at)
      else if (op < 0.5) s = s.slice(0, at) + s.slice(at + 1)
      else if (op < 0.7) s = s.slice(0, at) + s.slice(at, at + 8).repeat(1 + Math.floor(r() * 30)) + s.slice(at + 8)
      else if (op < 0.85) s = s.slice(0, at)
      else s = s.slice(0, at) + pick(['\0', '\n', '\u00e9', '\ud800', '%', '..', '/', ':', '=', ',', ' ', '"', '\\']) + s.slice(at)
    }
    yield s
  }
}

/** f(input) returns or throws a SkiffError; anything else fails the test, naming the input. */
function onlySkiffErrors(name: string, inputs: Iterable<string>, f: (s: string) => unknown): number {
  let n = 0
  for (const input of inputs) {
    n++
    try {
      f(input)
    } catch (err) {
      // (a message may quote a newline the input had: cmd/report.ts prints it escaped, on one line)
      if (!isSkiffError(err)) assert.unreachable(`${name}(${JSON.stringify(input)}) threw ${(err as Error).stack}`)
    }
  }
  return n
}

const N = Number(process.env.SKIFF_FUZZ_CASES || 3000)

test('image references: SkiffError or a name that normalizes to itself', () => {
  onlySkiffErrors('parseReference', strings(1, N, 'abcXYZ019._-/:@sha256', ['busybox', 'docker.io/library/busybox:1.36', '127.0.0.1:5000/a/b:t', `x@sha256:${'a'.repeat(64)}`, 'localhost/x', 'Registry.Example:5000/app']), (s) => {
    const once = normalizeReference(s)
    assert.is(normalizeReference(once), once, `normalize(${JSON.stringify(s)}) is stable`)
    parseReference(s)
  })
})

test('-v, --mount, --tmpfs, -p, --ulimit, --sysctl, sizes, --security-opt: SkiffError or a value', () => {
  const cwd = '/home/u'
  onlySkiffErrors('parseVolume', strings(2, N, 'abc/.:,rowzZ-', ['/a:/b', '/a:/b:ro,z', 'vol:/data', '/data', './rel:/x:rw', 'a:b:c:d']), (s) => parseVolume(s, cwd))
  onlySkiffErrors('parseMount', strings(3, N, 'abc/=,.:-', ['type=bind,source=/a,target=/b,readonly', 'type=volume,src=v,dst=/d', 'type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777', 'type=bind,src=/a,dst=/b,bind-propagation=rshared']), (s) => parseMount(s, cwd))
  onlySkiffErrors('parseTmpfs', strings(4, N, '/abc:=,0-9', ['/tmp', '/run:size=64m,mode=1777', '/x:noexec']), parseTmpfs)
  onlySkiffErrors('parsePublish', strings(5, N, '0123456789.:/-tcpud[]', ['8080:80', '127.0.0.1:8080:80/tcp', '5353:53/udp', '80', '8000-8010:8000-8010', '[::1]:80:80']), parsePublish)
  onlySkiffErrors('parseUlimit', strings(6, N, 'nofile=:0123456789-unlimited', ['nofile=1024:2048', 'core=0', 'memlock=unlimited', 'nproc=-1']), parseUlimit)
  onlySkiffErrors('parseSysctls', strings(7, N, 'net.ipv4=01kernel_', ['net.ipv4.ip_forward=1', 'kernel.shmmni=100', 'fs.mqueue.msg_max=10']), (s) => parseSysctls([s], true))
  onlySkiffErrors('parseSize', strings(8, N, '0123456789.kmgbKMG -e', ['10m', '1.5g', '512k', '100']), (s) => parseSize(s, '--memory'))
  onlySkiffErrors('securityOptions', strings(9, N, 'a-z=:/.ALLno', ['no-new-privileges=false', 'mask=/proc/a:/proc/b', 'unmask=ALL', 'seccomp=unconfined', 'label=disable', 'apparmor=unconfined']), (s) => securityOptions([], [], [s], () => '{}'))
})

test('an error message stays on one line, whatever it quotes', () => {
  assert.is(oneLine('-v a\nb: bad\t\x1b[2J'), '-v a\\nb: bad\\t\\x1b[2J')
})

test('--env-file text: every line a KEY=value or KEY, never an exception', () => {
  for (const s of strings(10, N, 'AB_=x #\n\r\t"\'\\', ['A=1\nB=2\n', '# c\n\nA="q"\n', 'export A=1', 'A'])) {
    const lines = parseEnvFile(s)
    assert.ok(Array.isArray(lines) && lines.every((l) => typeof l === 'string' && l !== ''), JSON.stringify(s))
  }
})

test('registry auth challenges: SkiffError or a challenge, whatever a registry sends', () => {
  onlySkiffErrors('parseChallenge', strings(11, N, 'Bearer Basic realm="=,:/ab', ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"', 'Basic realm="r"', 'Bearer realm=x', 'bearer  realm="a\\"b"']), parseChallenge)
})

test('seccomp profiles (--security-opt seccomp=FILE): SkiffError or a program', () => {
  const text = readFileSync(join(repoRoot, 'core/launch/seccomp-default.json'), 'utf8')
  const small = JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }] })
  onlySkiffErrors('compileSeccomp', strings(15, Math.min(N, 1500), '[]{}":,0123456789.-nulltrue', [small, text.slice(0, 400) + text.slice(-200), '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[null]}', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":"read","action":1}]}']), (s) => {
    let profile: unknown
    try {
      profile = JSON.parse(s)
    } catch {
      return
    }
    compileSeccomp(profile as SeccompProfile, { arch: 'x64', caps: [], kernel: '6.1.0' })
  })
})

test('registry manifests and indexes: SkiffError or descriptors with sha256 digests', () => {
  const d = `sha256:${'c'.repeat(64)}`
  const seeds = [
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: d, size: 2 }, layers: [{ digest: d, size: 3 }] }),
    JSON.stringify({ schemaVersion: 2, manifests: [{ digest: d, size: 5, platform: { os: 'linux', architecture: 'amd64' } }] }),
    '{"manifests":5}', '{"config":null,"layers":[]}', '{"config":{"digest":"sha256:../x"},"layers":[{}]}', 'null', '[]',
  ]
  onlySkiffErrors('manifestDocument', strings(16, N, '[]{}":,0123456789abcdefsha256:.-null', seeds), (s) => {
    const doc = manifestDocument(Buffer.from(s), 'x')
    for (const desc of doc.manifests ?? [doc.config, ...doc.layers]) assert.match(desc.digest, /^sha256:[0-9a-f]{64}$/)
  })
})

/** A docker-save layout with one image, as files: the names and texts to mutate. */
function dockerArchiveFiles(): Record<string, string> {
  const layer = 'a'.repeat(64)
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${layer}`] } })
  return {
    'manifest.json': JSON.stringify([{ Config: 'config.json', RepoTags: ['x:1'], Layers: [`${layer}/layer.tar`] }]),
    'config.json': config,
    'index.json': JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 10, annotations: { 'org.opencontainers.image.ref.name': 'x:1' } }] }),
  }
}

test('hostile archive layouts (load -i): SkiffError or images, and nothing read outside', async () => {
  const r = rng(12)
  const base = dockerArchiveFiles()
  let i = 0
  for (const [name, text] of Object.entries(base)) {
    for (const mutated of strings(13 + i++, Math.min(N, 400), '[]{}":,0123456789abcdef/.null', [text, '[]', '{}', '[{"Config":"../../etc/passwd","Layers":["/etc/shadow"]}]', '{"manifests":5}', '[null]', '{"manifests":[{"digest":"sha256:../../x"}]}'])) {
      const dir = tempDir('skiff-fuzz-archive-')
      for (const [n, t] of Object.entries(base)) if (n !== 'index.json' || name === 'index.json') writeFileSync(join(dir, n), n === name ? mutated : t)
      if (name === 'index.json' && r() < 0.5) writeFileSync(join(dir, 'manifest.json'), '')
      try {
        await readArchive(dir)
      } catch (err) {
        if (!isSkiffError(err)) assert.unreachable(`readArchive with ${name} = ${JSON.stringify(mutated)} threw ${(err as Error).stack}`)
      }
    }
  }
})

test('hostile layer streams: unpacked inside their directory, or refused', async () => {
  if (!requireEnv('fuzz: layers', process.getuid?.() !== undefined, 'needs a POSIX system')) return
  const r = rng(14)
  const entries: LayerEntry[] = [
    { type: 'dir', path: 'etc' },
    { type: 'file', path: 'etc/hostname', content: 'x\n' },
    { type: 'symlink', path: 'etc/link', target: '../../../../outside' },
    { type: 'hardlink', path: 'etc/hard', target: 'etc/hostname' },
    { type: 'file', path: `deep/${'n'.repeat(150)}/${'m'.repeat(120)}`, content: 'long' },
    { type: 'file', path: 'x', content: Buffer.alloc(3000, 7), xattrs: { 'user.k': 'v' } },
  ]
  const good = layerTar(entries)
  const cases = Number(process.env.SKIFF_FUZZ_LAYERS || 150)
  for (let c = 0; c < cases; c++) {
    const bytes = Buffer.from(good)
    const op = r()
    if (op < 0.4) {
      // bytes flipped in the headers (each 512-byte block's first 500 bytes) and beyond
      for (let k = 1 + Math.floor(r() * 8); k > 0; k--) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256)
    } else if (op < 0.6) {
      // a header field set to hostile text: name, size, typeflag, linkname
      const block = 512 * Math.floor(r() * (bytes.length / 512))
      const [at, len] = [[0, 100], [124, 12], [156, 1], [157, 100]][Math.floor(r() * 4)]!
      bytes.write(['../../../escape', '77777777777', '2', '/etc/passwd', '\0', 'ffffffffffff'][Math.floor(r() * 6)]!.padEnd(len, '\0').slice(0, len), block + at, 'latin1')
    }
    const cut = r() < 0.3 ? Math.floor(r() * bytes.length) : bytes.length
    const work = tempDir('skiff-fuzz-layer-')
    const blob = join(work, 'layer.tar')
    writeFileSync(blob, bytes.subarray(0, cut))
    const dest = join(work, 'dest')
    try {
      await unpackLayer(blob, dest, { preserveOwner: false, idLimit: 1 })
    } catch (err) {
      if (!isSkiffError(err) && !/^(TAR_|Z_)|^E[A-Z]+$/.test(String((err as NodeJS.ErrnoException).code))) {
        assert.unreachable(`case ${c}: unpackLayer threw ${(err as Error).stack}`)
      }
    }
    assert.equal(readdirSync(work).sort(), ['dest', 'layer.tar'].filter((n) => n !== 'dest' || readdirSync(work).includes('dest')), `case ${c}: nothing written beside dest`)
  }
})

test('the shim\'s plan parser and name server under libFuzzer (clang, ASan, UBSan)', () => {
  const clang = spawnSync('sh', ['-c', 'command -v clang-14 || command -v clang'], { encoding: 'utf8' }).stdout.trim()
  if (!requireEnv('fuzz: C harnesses', clang !== '', 'clang-14 and libclang-rt-14-dev are missing (test/setup-host.sh --build-deps installs them)')) return
  const seconds = process.env.SKIFF_FUZZ_SECONDS || '4'
  const artifacts = tempDir('skiff-fuzz-artifacts-')
  const r = spawnSync('bash', [join(repoRoot, 'test', 'fuzz', 'run.sh'), seconds], { encoding: 'utf8', env: { ...process.env, FUZZ_ARTIFACTS: artifacts }, timeout: 300_000 })
  assert.is(r.status, 0, `${r.stdout}${r.stderr}\nartifacts: ${readdirSync(artifacts).map((f) => `${f}: ${readFileSync(join(artifacts, f)).toString('base64')}`).join('\n')}`)
  // the seeds include the inputs that found bugs (regression-*): they ran first
  assert.ok(readdirSync(join(repoRoot, 'test', 'fuzz', 'corpus', 'plan')).some((f) => f.startsWith('regression-')))
  mkdirSync(artifacts, { recursive: true })
})

test.run()
