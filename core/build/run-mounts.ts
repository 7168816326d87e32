// RUN --mount as BuildKit has it, for the kinds a rootless build can give: type=cache (a
// directory kept in the store between builds, by id, default the target), type=bind from the
// build context (read-only; its contents are part of the step's cache key) and type=tmpfs. Does
// I/O (makes cache directories, hashes bound sources).
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { MountRequest } from '../launch/mount-spec.js'
import type { Store } from '../storage/store.js'
import type { Instruction } from './dockerfile.js'
import { cleanPath } from './ignore.js'
import { fail } from './step.js'
import { insideContext } from './files.js'

/** "type=cache,target=/root/.cache,id=pip" → its fields (a bare word is a true flag: ro, rw). Pure. */
export function parseMountFlag(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    if (eq < 0) out[part.trim()] = 'true'
    else out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
  }
  return out
}

/** A tree's names, modes and contents, for the cache key of a step that binds it. */
function treeHash(path: string, h: ReturnType<typeof createHash>): void {
  const st = lstatSync(path)
  h.update(`${path}\0${st.mode}\0`)
  if (st.isDirectory()) for (const n of readdirSync(path).sort()) treeHash(join(path, n), h)
  else if (st.isFile()) h.update(readFileSync(path))
}

/** The mounts of a RUN, and what of them the step's cache key must cover. */
export function runMounts(store: Store, inst: Instruction, context: string): { mounts: MountRequest[]; key: string } {
  const mounts: MountRequest[] = []
  const h = createHash('sha256')
  for (const spec of inst.flags.mount ?? []) {
    const m = parseMountFlag(spec)
    const type = m.type ?? 'bind'
    const target = m.target ?? m.dst ?? m.destination
    if (!target || !target.startsWith('/')) throw fail(inst, `--mount=${spec}: an absolute target= is needed`)
    if (type === 'cache') {
      if (m.from) throw fail(inst, `--mount=${spec}: a cache from another stage is not supported yet`)
      const id = m.id ?? target
      const dir = join(store.root, 'build-mounts', createHash('sha256').update(id).digest('hex').slice(0, 32))
      mkdirSync(dir, { recursive: true, mode: 0o755 })
      mounts.push({ type: 'bind', source: dir, target, readonly: m.ro === 'true' || m.readonly === 'true', flags: [] })
    } else if (type === 'bind') {
      if (m.from) throw fail(inst, `--mount=${spec}: binding another stage or image is not supported yet`, 'COPY --from what you need first')
      if (m.rw === 'true' || m.readwrite === 'true') throw fail(inst, `--mount=${spec}: a writable bind (whose writes are dropped) is not supported yet`)
      const rel = cleanPath(m.source ?? m.src ?? '.')
      if (!existsSync(resolve(context, rel))) throw fail(inst, `--mount=${spec}: ${m.source ?? '.'} is not in the build context`)
      const source = realpathSync(insideContext(context, rel, inst))
      treeHash(source, h)
      mounts.push({ type: 'bind', source, target, readonly: true, flags: [], mustExist: true })
    } else if (type === 'tmpfs') {
      mounts.push({ type: 'tmpfs', source: '', target, readonly: false, flags: [], size: m.size ? Number(m.size) : undefined })
    } else {
      throw fail(inst, `--mount=${spec}: type=${type} is not supported (cache, bind and tmpfs are)`)
    }
    h.update(`${type}\0${target}\0${m.id ?? ''}\0`)
  }
  return { mounts, key: h.digest('hex') }
}
