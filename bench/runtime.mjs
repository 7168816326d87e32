// bench/runtime.mjs — skiff as an OCI runtime: `skiff-runc run` on a prepared bundle beside
// `crun run` and `runc run` on the same root filesystem, rootless, in one hyperfine run as the
// same unprivileged user with a clean environment; Node's own start as the floor. Writes its
// section of docs/benchmarks.md. Run as root (`npm run bench` runs it).
import { join } from 'node:path'
import { hyperfine, prepareBusybox, prepareMachine, replaceSection, sh, userWorkspace, version } from './common.mjs'

const runs = Number(process.env.BENCH_RUNS || 40)
prepareMachine({ hyperfine: 'hyperfine', podman: 'podman', crun: 'crun', runc: 'runc' })
const ws = userWorkspace('/tmp/skiff-bench-runtime')
const { work, asUser } = ws
prepareBusybox(ws)
sh('ln', ['-s', join(work, 'skiff'), join(work, 'skiff-runc')])
sh('cp', [process.execPath, join(work, 'node')])
sh('chown', ['-h', ws.uid.toString(), join(work, 'skiff-runc')])
// runc gets its own rootless spec over the same root filesystem (crun's has uid mappings runc
// refuses); skiff-runc runs crun's bundle as it is
asUser(`mkdir -p runc-bundle && cd runc-bundle && runc spec --rootless && python3 - <<EOF\nimport json\nc=json.load(open("config.json"))\nc["root"]={"path":"${work}/bundle/rootfs","readonly":True}\nc["process"]["args"]=["true"]\nc["process"]["terminal"]=False\njson.dump(c,open("config.json","w"))\nEOF`)

const cases = [
  ['skiff-runc run (bundle)', `${work}/skiff-runc --root ${work}/skiff-state run -b ${work}/bundle bench-skiff`],
  ['crun run (bundle)', `crun --cgroup-manager=disabled --root ${work}/crun-state run -b ${work}/bundle bench-crun`],
  ['runc run (bundle)', `runc --root ${work}/runc-state run -b ${work}/runc-bundle bench-runc`],
  ["node -e 0 (Node's own start)", `${work}/node -e 0`],
]
const results = hyperfine(ws, cases, { runs, warmup: 5, out: join(work, 'runtime.json') })
const ms = (s) => (s * 1000).toFixed(1)
const [skiff, crun, runc, node] = results
const rows = results.map((r) => `| ${r.command} | ${ms(r.median)} | ${ms(r.min)} | ${ms(r.max)} | ${(r.median / skiff.median).toFixed(2)} |`)
replaceSection('skiff as an OCI runtime', `## skiff as an OCI runtime

\`bench/runtime.mjs\`, ${new Date().toISOString().slice(0, 10)}: \`run\` of one prepared busybox bundle (\`true\`), rootless, the same
user and clean environment, ${runs} runs each after 5 warm-ups, in one hyperfine run. ${version('crun --version')}; ${version('runc --version')}.

| command | median ms | min | max | / skiff-runc |
|---|---|---|---|---|
${rows.join('\n')}

skiff-runc / runc: ${(skiff.median / runc.median).toFixed(2)}; skiff-runc − (Node's start + crun): ${ms(skiff.median - node.median - crun.median)} ms.
`)
console.log(results.map((r) => `${r.command}: ${ms(r.median)} ms`).join('\n'))
