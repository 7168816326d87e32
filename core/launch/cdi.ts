// GPUs and other devices through the Container Device Interface (CDI, spec versions 0.3–0.8):
// `--device vendor.com/class=name` and `--gpus` name devices that JSON or YAML specs in /etc/cdi
// and /var/run/cdi (the later directory wins for a device both define; SKIFF_CDI_SPEC_DIRS, colon-
// separated, replaces the two) describe as edits of the container: device nodes, mounts,
// environment, hooks. Applied rootless: device nodes are the host's, bound (a user namespace
// cannot make them), mounts are binds, hooks run in the container's namespaces (shims/hooks.c).
// Where no spec names an NVIDIA GPU, `--gpus` falls back as Apptainer's --nv does: the driver's
// libraries found with `ldconfig -p`, bound with the /dev/nvidia* nodes. Does I/O (reads specs;
// YAML through the `yaml` package, loaded only for a .yaml spec: yamlParse).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { SkiffError } from '../errors.js'
import type { HookPlan, MountFlag, MountOp } from '../plan.js'
import { CDI_KIND_RE as KIND_RE, type DeviceBind } from './devices.js'

export const CDI_SPEC_DIRS = ['/etc/cdi', '/var/run/cdi']

interface SpecEdits {
  env?: string[]
  deviceNodes?: { path: string; hostPath?: string; permissions?: string }[]
  mounts?: { hostPath: string; containerPath: string; options?: string[]; type?: string }[]
  hooks?: { hookName: string; path: string; args?: string[]; env?: string[]; timeout?: number }[]
  additionalGids?: number[]
}

interface Spec {
  cdiVersion: string
  kind: string
  devices: { name: string; containerEdits: SpecEdits }[]
  containerEdits?: SpecEdits
  /** the file it came from, for messages */
  file: string
}


/** What the named devices do to the container, merged. */
export interface DeviceEdits {
  env: string[]
  devices: DeviceBind[]
  mounts: MountOp[]
  hooks: { createContainer: HookPlan[]; startContainer: HookPlan[] }
  additionalGids: number[]
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$/
const HOOKS = new Set(['createContainer', 'startContainer'])
const UNSUPPORTED_HOOKS = new Set(['prestart', 'createRuntime', 'poststart', 'poststop'])

function bad(file: string, what: string): SkiffError {
  return new SkiffError('E_CDI', `CDI spec ${file}: ${what}`, { hint: 'fix or remove the spec (its vendor\'s tool writes it: e.g. nvidia-ctk cdi generate); the format is github.com/cncf-tags/container-device-interface' })
}

/** A spec's text (JSON or YAML, by `file`'s name) → a checked spec. */
export async function parseSpec(text: string, file: string): Promise<Spec> {
  let raw: unknown
  try {
    if (/\.ya?ml$/.test(file)) {
      raw = yamlParse()(text)
    } else {
      raw = JSON.parse(text)
    }
  } catch (err) {
    throw bad(file, `not valid ${/\.ya?ml$/.test(file) ? 'YAML' : 'JSON'} (${(err as Error).message.split('\n')[0]})`)
  }
  const s = raw as Partial<Spec>
  if (!s || typeof s !== 'object') throw bad(file, 'not an object')
  if (typeof s.cdiVersion !== 'string' || !/^0\.([3-8])\.\d+$/.test(s.cdiVersion)) throw bad(file, `cdiVersion ${JSON.stringify(s.cdiVersion)} is not one skiff reads (0.3.0 to 0.8.x)`)
  if (typeof s.kind !== 'string' || !KIND_RE.test(s.kind)) throw bad(file, `kind ${JSON.stringify(s.kind)} is not vendor.com/class`)
  if (!Array.isArray(s.devices)) throw bad(file, 'devices is not a list')
  for (const d of s.devices) {
    if (!d || typeof d.name !== 'string' || !NAME_RE.test(d.name)) throw bad(file, `a device name ${JSON.stringify(d?.name)} is not valid`)
    checkEdits(d.containerEdits ?? {}, file, `device ${d.name}`)
  }
  if (s.containerEdits) checkEdits(s.containerEdits, file, 'containerEdits')
  return { cdiVersion: s.cdiVersion, kind: s.kind, devices: s.devices, containerEdits: s.containerEdits, file }
}

/**
 * The `yaml` package's parse. In the single executable it is an asset of its own, compiled only
 * here: in the bundle every command loads, its 170 KB cost each start ~1.7 ms (measured with
 * bench/ab.mjs, --version). Elsewhere (tests, dist/skiff.cjs run by node) the package itself.
 */
function yamlParse(): (text: string) => unknown {
  let sea: { isSea(): boolean; getAsset(key: string, encoding: string): string } | undefined
  try {
    sea = require('node:sea')
  } catch {}
  if (sea?.isSea()) {
    const module = { exports: {} as { parse?: (text: string) => unknown } }
    const { Script } = require('node:vm') as typeof import('node:vm')
    new Script(`(function (exports, require, module) {${sea.getAsset('yaml', 'utf8')}\n})`, { filename: 'yaml.cjs' }).runInThisContext()(module.exports, require, module)
    return module.exports.parse!
  }
  return (require('yaml') as typeof import('yaml')).parse
}

function checkEdits(e: SpecEdits, file: string, where: string): void {
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string')
  if (e.env !== undefined && !(strings(e.env) && e.env.every((kv) => /^[^=]+=/.test(kv)))) throw bad(file, `${where}: env must be KEY=VALUE strings`)
  for (const n of e.deviceNodes ?? []) {
    if (typeof n?.path !== 'string' || !n.path.startsWith('/') || (n.hostPath !== undefined && (typeof n.hostPath !== 'string' || !n.hostPath.startsWith('/')))) throw bad(file, `${where}: a device node needs an absolute path (and hostPath)`)
  }
  for (const m of e.mounts ?? []) {
    if (typeof m?.hostPath !== 'string' || typeof m.containerPath !== 'string' || !m.containerPath.startsWith('/') || (m.options !== undefined && !strings(m.options))) throw bad(file, `${where}: a mount needs hostPath, an absolute containerPath and string options`)
  }
  for (const h of e.hooks ?? []) {
    if (typeof h?.path !== 'string' || !h.path.startsWith('/') || typeof h.hookName !== 'string') throw bad(file, `${where}: a hook needs hookName and an absolute path`)
    if (h.args !== undefined && !strings(h.args)) throw bad(file, `${where}: hook args must be strings`)
    if (h.env !== undefined && !strings(h.env)) throw bad(file, `${where}: hook env must be strings`)
  }
}

/** Every spec in `dirs` (*.json, *.yaml, *.yml), in the order of precedence: later ones win. */
export async function loadSpecs(dirs: string[] = specDirs()): Promise<Spec[]> {
  const specs: Spec[] = []
  for (const dir of dirs) {
    let names: string[]
    try {
      names = readdirSync(dir).filter((n) => /\.(json|ya?ml)$/.test(n)).sort()
    } catch {
      continue
    }
    for (const n of names) {
      const file = join(dir, n)
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (err) {
        throw bad(file, (err as Error).message)
      }
      specs.push(await parseSpec(text, file))
    }
  }
  return specs
}

export function specDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.SKIFF_CDI_SPEC_DIRS ? env.SKIFF_CDI_SPEC_DIRS.split(':').filter(Boolean) : CDI_SPEC_DIRS
}

/** CDI mount options → skiff's bind flags (bind and rbind say what kind of mount; others are refused). */
function mountFlags(options: string[], file: string): MountFlag[] {
  const flags: MountFlag[] = []
  for (const o of options) {
    if (o === 'bind') continue
    if (o === 'rbind') flags.push('rec')
    else if (['ro', 'nosuid', 'nodev', 'noexec', 'rprivate', 'private', 'rslave', 'slave'].includes(o)) flags.push(o as MountFlag)
    else if (o === 'rw' || o === 'relatime' || o === 'noatime') continue
    else throw bad(file, `mount option ${o} is not one skiff can apply to a bind mount`)
  }
  return flags
}

/**
 * `names` (vendor.com/class=name, or =all) → the edits of those devices and of their specs,
 * merged in the order named (a spec's own edits once). Hooks other than createContainer and
 * startContainer are refused: they would run outside the container, in the host's namespaces.
 */
export function resolveDevices(names: string[], specs: Spec[]): DeviceEdits {
  const out: DeviceEdits = { env: [], devices: [], mounts: [], hooks: { createContainer: [], startContainer: [] }, additionalGids: [] }
  const specsUsed = new Set<Spec>()
  const apply = (e: SpecEdits, file: string) => {
    out.env.push(...(e.env ?? []))
    for (const n of e.deviceNodes ?? []) {
      const host = n.hostPath ?? n.path
      let st
      try {
        st = statSync(host)
      } catch {
        throw new SkiffError('E_CDI', `CDI spec ${file}: device node ${host} does not exist on this host`, { hint: 'a rootless container can only bind device nodes the host has (it cannot make them): check the driver, or regenerate the spec' })
      }
      if (!st.isCharacterDevice() && !st.isBlockDevice()) throw bad(file, `${host} is not a device node`)
      out.devices.push({ host, container: n.path, readOnly: false })
    }
    for (const m of e.mounts ?? []) {
      if (m.type !== undefined && m.type !== 'bind' && m.type !== 'none') throw bad(file, `a mount of type ${m.type}: only bind mounts are applied`)
      if (!existsSync(m.hostPath)) throw new SkiffError('E_CDI', `CDI spec ${file}: mount source ${m.hostPath} does not exist on this host`, { hint: 'install what the spec names, or regenerate the spec' })
      out.mounts.push({ kind: 'bind', source: m.hostPath, target: m.containerPath, flags: mountFlags(m.options ?? [], file) })
    }
    for (const h of e.hooks ?? []) {
      if (UNSUPPORTED_HOOKS.has(h.hookName)) {
        throw new SkiffError('E_CDI', `CDI spec ${file}: a ${h.hookName} hook (${h.path}) would run on the host, outside the container: skiff runs createContainer and startContainer hooks only`, { hint: 'regenerate the spec with createContainer hooks (nvidia-ctk does by default)' })
      }
      if (!HOOKS.has(h.hookName)) throw bad(file, `unknown hook name ${h.hookName}`)
      const hook: HookPlan = { path: h.path, args: h.args ?? [h.path], env: h.env ?? [], ...(h.timeout ? { timeout: h.timeout } : {}) }
      out.hooks[h.hookName as 'createContainer' | 'startContainer'].push(hook)
    }
    out.additionalGids.push(...(e.additionalGids ?? []))
  }
  for (const full of names) {
    const eq = full.indexOf('=')
    const kind = full.slice(0, eq)
    const name = full.slice(eq + 1)
    // later specs win for the same device
    const ofKind = specs.filter((s) => s.kind === kind)
    if (!ofKind.length) {
      throw new SkiffError('E_CDI', `no CDI spec describes devices of kind ${kind} (looked in ${specDirs().join(', ')})`, { hint: 'generate one with the vendor\'s tool (nvidia-ctk cdi generate --output /etc/cdi/nvidia.yaml), or set SKIFF_CDI_SPEC_DIRS' })
    }
    const devices = new Map<string, { spec: Spec; edits: SpecEdits }>()
    for (const s of ofKind) for (const d of s.devices) devices.set(d.name, { spec: s, edits: d.containerEdits ?? {} })
    const chosen = name === 'all' ? [...devices.values()] : devices.has(name) ? [devices.get(name)!] : []
    if (!chosen.length) {
      throw new SkiffError('E_CDI', `CDI device ${full} is not in any spec (${kind} has ${[...devices.keys()].join(', ') || 'no devices'})`, { hint: `name one of them, or ${kind}=all` })
    }
    for (const c of chosen) {
      if (!specsUsed.has(c.spec)) {
        specsUsed.add(c.spec)
        if (c.spec.containerEdits) apply(c.spec.containerEdits, c.spec.file)
      }
      apply(c.edits, c.spec.file)
    }
  }
  return out
}

/**
 * --gpus all | N | device=A,B (Docker's values) → CDI device names of kind nvidia.com/gpu, when a
 * spec has that kind; undefined when none does (the fallback applies).
 */
export function gpuNames(value: string, specs: Spec[]): string[] | undefined {
  const kind = 'nvidia.com/gpu'
  const names = [...new Set(specs.filter((s) => s.kind === kind).flatMap((s) => s.devices.map((d) => d.name)))]
  if (!names.length) return undefined
  const v = value.replace(/^"|"$/g, '')
  if (v === 'all') return [`${kind}=all`]
  if (/^\d+$/.test(v)) {
    const n = Number(v)
    // the numbered devices, in order (nvidia-ctk names them 0, 1, ...; "all" is not one)
    const numbered = names.filter((x) => /^\d+$/.test(x)).sort((a, b) => Number(a) - Number(b))
    if (n < 1 || n > numbered.length) throw new SkiffError('E_USAGE', `--gpus ${v}: this host's CDI spec has ${numbered.length} numbered GPUs`, { hint: 'give a number up to that, all, or device=NAME' })
    return numbered.slice(0, n).map((x) => `${kind}=${x}`)
  }
  const m = /^device=(.+)$/.exec(v)
  if (m) return m[1]!.split(',').map((x) => `${kind}=${x.trim()}`)
  throw new SkiffError('E_USAGE', `--gpus ${value}: expected all, a number, or device=NAME[,NAME]`, { hint: 'e.g. --gpus all, --gpus 1, --gpus device=0' })
}

/** The NVIDIA driver's libraries (Apptainer's nvliblist, the parts a CUDA program loads) and programs. */
export const NVIDIA_LIBRARIES = [
  'libcuda.so', 'libcudadebugger.so', 'libnvidia-ml.so', 'libnvidia-ptxjitcompiler.so', 'libnvidia-nvvm.so',
  'libnvidia-opencl.so', 'libnvidia-fatbinaryloader.so', 'libnvidia-compiler.so', 'libnvidia-allocator.so',
  'libnvidia-cfg.so', 'libnvidia-gpucomp.so', 'libnvidia-pkcs11.so', 'libnvidia-encode.so', 'libnvcuvid.so',
  'libnvidia-opticalflow.so', 'libnvidia-eglcore.so', 'libnvidia-glcore.so', 'libnvidia-tls.so', 'libnvidia-glsi.so',
  'libEGL_nvidia.so', 'libGLX_nvidia.so', 'libGLESv2_nvidia.so', 'libGLESv1_CM_nvidia.so', 'libnvoptix.so', 'libnvidia-rtcore.so',
]
export const NVIDIA_PROGRAMS = ['nvidia-smi', 'nvidia-debugdump', 'nvidia-persistenced', 'nvidia-cuda-mps-control', 'nvidia-cuda-mps-server']
/** Where the fallback puts the libraries in the container (LD_LIBRARY_PATH gets it), as nvidia-docker 1 did. */
export const NVIDIA_LIB_DIR = '/usr/local/nvidia/lib64'

/**
 * The fallback without a CDI spec, from `ldconfig -p`'s lines and the host's /dev/nvidia* nodes:
 * each listed library (64-bit, by its soname) bound into NVIDIA_LIB_DIR, the programs into
 * /usr/bin, the nodes at their paths. Pure.
 */
export function nvidiaFallback(ldconfig: string, nodes: string[], programs: string[]): DeviceEdits {
  const libs = new Map<string, string>()
  for (const line of ldconfig.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)$/.exec(line)
    if (!m || !m[2]!.includes('x86-64') && !m[2]!.includes('AArch64')) continue
    const [, soname, , path] = m
    if (NVIDIA_LIBRARIES.some((l) => soname!.startsWith(`${l}.`) || soname === l) && !libs.has(soname!)) libs.set(soname!, path!)
  }
  const ro: MountFlag[] = ['ro', 'nosuid', 'nodev']
  return {
    env: [`LD_LIBRARY_PATH=${NVIDIA_LIB_DIR}`, 'NVIDIA_VISIBLE_DEVICES=all'],
    devices: nodes.map((n) => ({ host: n, container: n, readOnly: false })),
    mounts: [
      ...[...libs].map(([soname, path]): MountOp => ({ kind: 'bind', source: path, target: join(NVIDIA_LIB_DIR, soname), flags: ro })),
      ...programs.map((p): MountOp => ({ kind: 'bind', source: p, target: join('/usr/bin', basename(p)), flags: ro })),
    ],
    hooks: { createContainer: [], startContainer: [] },
    additionalGids: [],
  }
}

/** --gpus without a spec: the host's NVIDIA driver as it is, or an error that says what is missing. */
export function nvidiaFromHost(): DeviceEdits {
  const nodes = (() => {
    try {
      return readdirSync('/dev').filter((n) => /^nvidia(\d+|ctl|-uvm|-uvm-tools|-modeset)$/.test(n)).map((n) => join('/dev', n))
    } catch {
      return []
    }
  })()
  if (!nodes.some((n) => /nvidia\d+$/.test(n))) {
    throw new SkiffError('E_NO_GPU', `--gpus: no CDI spec names an NVIDIA GPU (looked in ${specDirs().join(', ')}) and this host has no /dev/nvidia0`, {
      hint: 'on a GPU node, generate a spec: nvidia-ctk cdi generate --output /etc/cdi/nvidia.yaml (or load the driver)',
    })
  }
  const ld = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' })
  const programs = NVIDIA_PROGRAMS.map((p) => [`/usr/bin/${p}`, `/bin/${p}`].find((f) => existsSync(f))).filter((f): f is string => !!f)
  const edits = nvidiaFallback(ld.stdout ?? '', nodes, programs)
  if (!edits.mounts.some((m) => m.kind === 'bind' && /libcuda\.so/.test(m.target))) {
    throw new SkiffError('E_NO_GPU', '--gpus: /dev/nvidia0 is there, but ldconfig -p lists no libcuda.so (the NVIDIA driver\'s libraries)', { hint: 'install the driver\'s user-space libraries, or generate a CDI spec (nvidia-ctk cdi generate)' })
  }
  return edits
}

/** --device's CDI names and --gpus, resolved (specs read once). */
export async function deviceEdits(cdiNames: string[], gpus: string | undefined): Promise<DeviceEdits | undefined> {
  if (!cdiNames.length && gpus === undefined) return undefined
  const specs = await loadSpecs()
  const names = [...cdiNames]
  let fallback: DeviceEdits | undefined
  if (gpus !== undefined) {
    const viaCdi = gpuNames(gpus, specs)
    if (viaCdi) names.push(...viaCdi)
    else fallback = nvidiaFromHost()
  }
  const edits = resolveDevices(names, specs)
  if (fallback) {
    // without a spec every GPU is bound; CUDA sees the ones asked for
    const v = gpus!.replace(/^"|"$/g, '')
    const visible = /^\d+$/.test(v) ? Array.from({ length: Number(v) }, (_, i) => String(i)).join(',') : /^device=/.test(v) ? v.slice(7) : undefined
    if (v !== 'all' && visible === undefined) throw new SkiffError('E_USAGE', `--gpus ${gpus}: expected all, a number, or device=NAME[,NAME]`, { hint: 'e.g. --gpus all' })
    if (visible !== undefined) fallback.env.push(`CUDA_VISIBLE_DEVICES=${visible}`)
    edits.env.push(...fallback.env)
    edits.devices.push(...fallback.devices)
    edits.mounts.push(...fallback.mounts)
  }
  return edits
}
