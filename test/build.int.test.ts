// skiff build (issue 22), as the unprivileged user: a multi-stage Dockerfile with ARG before
// FROM, heredocs, .dockerignore, COPY --from/--chown/--chmod, a deletion, USER and CMD; the
// image runs; a second build of the unchanged context runs nothing and gives the same image; a
// failing RUN names its step and status.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, useSandbox } from './helpers/env.js'

const t = suite('build')
const sb = useSandbox(t)

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE} AS builder
ARG GREETING=hello
WORKDIR /src
COPY app/ ./
RUN echo "$GREETING from builder" > out.txt && mkdir -p /opt/only-in-builder
RUN <<EOT
set -e
echo heredoc-ran > /src/heredoc.txt
EOT

FROM busybox
LABEL org.example.built=yes
ENV APP=/app
COPY --from=builder /src/ /app/
COPY --chown=1000:1000 --chmod=640 app/a.txt /app/owned.txt
COPY <<EOF /app/greeting
hi \${APP}
EOF
RUN rm /etc/group && mkdir -p /data && echo x > /data/x
USER 1000
CMD ["cat", "/app/out.txt"]
`

t('a multi-stage build: files, owners, modes, deletions, config; cached the second time; a failing RUN', () => {
  if (!need('build', probe.skiff(), probe.rootless(), probe.busybox())) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  const ctx = join(sb.tmp, 'ctx')
  mkdirSync(join(ctx, 'app'), { recursive: true })
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE)
  writeFileSync(join(ctx, 'app', 'a.txt'), 'A\n')
  writeFileSync(join(ctx, 'app', 'secret.key'), 'no\n')
  writeFileSync(join(ctx, '.dockerignore'), '# keys stay home\napp/*.key\n')
  const first = sb.run(['build', '-t', 'built:1', '--build-arg', 'GREETING=bonjour', ctx], { timeout: 180_000 })
  assert.is(first.status, 0, first.describe())
  assert.match(first.stderr, /STEP 1\/15: FROM \$\{BASE\} AS builder/)
  const id = first.stdout.trim()
  assert.match(id, /^[0-9a-f]{64}$/)
  assert.is(sb.run(['run', '--rm', 'built:1']).stdout, 'bonjour from builder\n')
  const look = sb.run(['run', '--rm', '-u', '0', 'built:1', 'sh', '-c',
    'cat /app/heredoc.txt /app/greeting; stat -c "%n %u:%g %a" /app/owned.txt /app/a.txt; ls /app/secret.key /opt/only-in-builder /etc/group 2>&1; cat /data/x; id -u'])
  assert.is(look.stdout, 'heredoc-ran\nhi /app\n/app/owned.txt 1000:1000 640\n/app/a.txt 0:0 644\n' +
    'ls: /app/secret.key: No such file or directory\nls: /opt/only-in-builder: No such file or directory\nls: /etc/group: No such file or directory\nx\n0\n', look.describe())
  assert.is(sb.run(['run', '--rm', 'built:1', 'id', '-u']).stdout, '1000\n')
  assert.is(sb.run(['inspect', '-f', '{{index .Config.Labels "org.example.built"}} {{.Config.User}} {{json .Config.Cmd}}', 'built:1']).stdout, 'yes 1000 ["cat","/app/out.txt"]\n')
  // unchanged: every step from the cache, no container, the same image
  const again = sb.run(['build', '-t', 'built:1', '--build-arg', 'GREETING=bonjour', ctx], { timeout: 60_000 })
  assert.is(again.status, 0, again.describe())
  assert.is(again.stdout.trim(), id)
  assert.is((again.stderr.match(/Using cache/g) ?? []).length, 7, again.stderr)
  // a changed build arg runs its RUN again
  const other = sb.run(['build', '-q', '--build-arg', 'GREETING=hallo', ctx], { timeout: 180_000 })
  assert.is(other.status, 0, other.describe())
  assert.is.not(other.stdout.trim(), `sha256:${id}`)
  // a failing RUN: its step, its status
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo about to fail; exit 3\n')
  const bad = sb.run(['build', ctx], { timeout: 60_000 })
  assert.is(bad.status, 125, bad.describe())
  assert.match(bad.stdout + bad.stderr, /about to fail/)
  assert.match(bad.stderr, /RUN echo about to fail; exit 3 \(line 2\): the command exited with status 3/)
  // a COPY source .dockerignore left out names the rule
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY app/secret.key /\n')
  const ignored = sb.run(['build', ctx], { timeout: 60_000 })
  assert.is(ignored.status, 125)
  assert.match(ignored.stderr, /app\/secret.key: not found in the build context \(excluded by .dockerignore: app\/\*.key\)/)
  // a symlink in the context that leads out of it: not followed into the image
  const { symlinkSync } = require('node:fs') as typeof import('node:fs')
  symlinkSync(sb.home, join(ctx, 'outside'))
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY outside/ /stolen/\n')
  const escape = sb.run(['build', ctx], { timeout: 60_000 })
  assert.is(escape.status, 125, escape.describe())
  assert.match(escape.stderr, /outside: a symlink leads out of the build context/)
  assert.is(sb.run(['ps', '-aq']).stdout, '', 'no build container is left')
  // image prune keeps the build's intermediate images (its cache); builder prune removes the cache
  const intermediates = () => sb.run(['images', '-a', '-q']).stdout.split('\n').filter(Boolean).length - sb.run(['images', '-q']).stdout.split('\n').filter(Boolean).length
  const before = intermediates()
  assert.ok(before > 0, 'intermediate images are listed by images -a')
  assert.is(sb.run(['image', 'prune', '-f']).status, 0)
  assert.is(intermediates(), before)
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE)
  const pruned = sb.run(['builder', 'prune', '-f'])
  assert.is(pruned.status, 0, pruned.describe())
  assert.match(pruned.stdout, /Removed \d+ cache entries and \d+ intermediate images/)
  assert.is(intermediates(), 0)
  const rebuilt = sb.run(['image', 'build', '-t', 'built:1', '--build-arg', 'GREETING=bonjour', ctx], { timeout: 180_000 })
  assert.is(rebuilt.status, 0, rebuilt.describe())
  assert.not.match(rebuilt.stderr, /Using cache/)
  assert.is(sb.run(['run', '--rm', 'built:1']).stdout, 'bonjour from builder\n')
})

t('FROM scratch, ADD of archives and URLs, WORKDIR, ONBUILD, -q, a failure with its last lines', async () => {
  if (!need('build', probe.skiff(), probe.rootless(), probe.busybox())) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  const ctx = join(sb.tmp, 'ctx2')
  mkdirSync(join(ctx, 'tree', 'sub'), { recursive: true })
  writeFileSync(join(ctx, 'tree', 'sub', 'f'), 'in-archive\n')
  assert.is(spawnSync('tar', ['-czf', join(ctx, 'a.tar.gz'), '-C', join(ctx, 'tree'), '.']).status, 0)
  writeFileSync(join(ctx, 'hello'), 'from-context\n')
  // ADD URL is fetched by skiff itself: a server on the loopback serves it (another process:
  // the sandbox's commands block this one)
  const server = spawn(process.execPath, ['-e', 'require("http").createServer((q, s) => s.end("downloaded\\n")).listen(0, "127.0.0.1", function () { console.log(this.address().port) })'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<string>((r) => server.stdout!.once('data', (d: Buffer) => r(d.toString().trim())))
  const url = `http://127.0.0.1:${port}/files/remote.txt`
  try {
    writeFileSync(join(ctx, 'Dockerfile'), `FROM scratch\nCOPY hello /etc/\nADD a.tar.gz /unpacked\nADD ${url} /dl/\nWORKDIR /made/here\n`)
    const scratch = sb.run(['build', '-q', '-t', 'scratchy', ctx], { timeout: 120_000 })
    assert.is(scratch.status, 0, scratch.describe())
    assert.match(scratch.stdout, /^sha256:[0-9a-f]{64}\n$/)
    const out = join(sb.tmp, 'scratchy.tar')
    assert.is(sb.run(['save', '-o', out, 'scratchy']).status, 0)
    // the files, read back by a busybox container that copies them out of the image's tree
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratchy AS s\nFROM busybox\nCOPY --from=s / /s/\nCOPY --from=s /etc/hel* /un*/sub/? /w/\nRUN cat /s/etc/hello /s/unpacked/sub/f /s/dl/remote.txt && stat -c "%a %n" /s/dl/remote.txt && test -d /s/made/here && ls /s && ls /w\n')
    const check = sb.run(['build', '--no-cache', ctx], { timeout: 120_000 })
    assert.is(check.status, 0, check.describe())
    assert.match(check.stderr, /from-context\nin-archive\ndownloaded\n600 \/s\/dl\/remote.txt\ndl\netc\nmade\nunpacked\nf\nhello\n/)
  } finally {
    server.kill()
  }
  // RUN --mount: a cache kept between builds, a read-only bind of the context, a tmpfs; none in the image
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN --mount=type=cache,target=/cache --mount=type=bind,source=hello,target=/ctx/hello --mount=type=tmpfs,target=/scratch ' +
    'echo run >> /cache/runs; wc -l < /cache/runs; cat /ctx/hello; touch /scratch/x; ! echo x 2>/dev/null > /ctx/hello\n')
  const m1 = sb.run(['build', '--no-cache', ctx], { timeout: 60_000 })
  assert.is(m1.status, 0, m1.describe())
  assert.match(m1.stderr, /\n1\nfrom-context\n/)
  const m2 = sb.run(['build', '--no-cache', '-t', 'mounted', ctx], { timeout: 60_000 })
  assert.match(m2.stderr, /\n2\nfrom-context\n/, 'the cache directory outlives the build')
  assert.is(sb.run(['run', '--rm', 'mounted', 'sh', '-c', 'ls /cache /ctx /scratch 2>&1 | grep -c "No such"']).stdout, '3\n')
  // ONBUILD: the trigger runs in the build that uses the image, not in the one that makes it
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nONBUILD RUN echo triggered > /onbuild\n')
  assert.is(sb.run(['build', '-q', '-t', 'parent', ctx], { timeout: 60_000 }).status, 0)
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM parent\nRUN cat /onbuild\n')
  const child = sb.run(['build', '-t', 'child', ctx], { timeout: 60_000 })
  assert.is(child.status, 0, child.describe())
  assert.match(child.stderr, /--> ONBUILD RUN echo triggered > \/onbuild\n/)
  assert.not.match(sb.run(['inspect', '-f', '{{json .Config}}', 'child']).stdout, /triggered/, 'the image keeps no trigger')
  assert.match(sb.run(['inspect', '-f', '{{json .Config}}', 'parent']).stdout, /"OnBuild":\["RUN echo triggered > \/onbuild"\]/)
  // -q: no RUN output; a failure still names its last lines
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo line-one; echo line-two; exit 4\n')
  const bad = sb.run(['build', '-q', ctx], { timeout: 60_000 })
  assert.is(bad.status, 125)
  assert.match(bad.stderr, /exited with status 4; its last lines:\nline-one\nline-two\n/)
  assert.not.match(bad.stderr, /STEP/)
})

t('commit: a container\'s changes (a new file, a deletion) and -c changes; import: a root filesystem tar as an image', () => {
  if (!need('commit', probe.skiff(), probe.rootless(), probe.busybox())) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  assert.is(sb.run(['run', '--name', 'cm', 'busybox', 'sh', '-c', 'echo committed > /c.txt; rm /etc/group']).status, 0)
  const c = sb.run(['commit', '-c', 'CMD ["cat", "/c.txt"]', '-c', 'ENV X=1', '-m', 'a message', '--author', 'Ann', 'cm', 'cm:1'])
  assert.is(c.status, 0, c.describe())
  assert.match(c.stdout, /^sha256:[0-9a-f]{64}\n$/)
  assert.is(sb.run(['run', '--rm', 'cm:1']).stdout, 'committed\n')
  assert.is(sb.run(['run', '--rm', 'cm:1', 'sh', '-c', 'ls /etc/group 2>&1; echo $X']).stdout, 'ls: /etc/group: No such file or directory\n1\n')
  assert.match(sb.run(['history', '--no-trunc', '--format', '{{.Comment}}|{{.CreatedBy}}', 'cm:1']).stdout, /^a message\|sh -c echo committed > \/c.txt; rm \/etc\/group\n/)
  assert.is(sb.run(['inspect', '-f', '{{.Author}}', 'cm:1']).stdout, 'Ann\n')
  assert.match(sb.run(['commit', '-c', 'RUN true', 'cm']).stderr, /RUN cannot be applied here/)
  // export | import: the same files, one layer
  const tar = join(sb.tmp, 'cm.tar')
  assert.is(sb.run(['export', '-o', tar, 'cm']).status, 0)
  const imp = sb.run(['import', '-c', 'CMD ["/bin/sh", "-c", "cat /c.txt"]', '-m', 'imported', tar, 'imp:1'])
  assert.is(imp.status, 0, imp.describe())
  assert.is(sb.run(['run', '--rm', 'imp:1']).stdout, 'committed\n')
  assert.is(sb.run(['inspect', '-f', '{{len .RootFS.Layers}}', 'imp:1']).stdout, '1\n')
  assert.is(sb.run(['rm', 'cm']).status, 0)
})

t.run()
