// --cap-add, --cap-drop and --security-opt, as Docker spells them → what the plan gets. Pure.
import { SkiffError } from '../errors.js'
import { capabilitySet } from './capabilities.js'
import type { SecurityOptions } from './spec.js'

const HINT = 'skiff takes --security-opt no-new-privileges[=true|false], mask=PATH[:PATH...], unmask=ALL|PATH[:PATH...], seccomp=unconfined|PROFILE.json, label=disable, apparmor=unconfined'

function paths(opt: string, value: string, all: boolean): string[] {
  const list = value.split(':').filter(Boolean)
  for (const p of list) {
    if (!(all && p === 'ALL') && !p.startsWith('/')) throw new SkiffError('E_USAGE', `--security-opt ${opt}: ${p} is not an absolute path`, { hint: `e.g. --security-opt ${opt.split('=')[0]}=/proc/kcore` })
  }
  if (!list.length) throw new SkiffError('E_USAGE', `--security-opt ${opt}: no path given`, { hint: HINT })
  return list
}

/**
 * The security options of a container. Docker's spellings (`key=value`, and the older
 * `key:value`); an option skiff cannot honour is an error, never ignored:
 *   - no-new-privileges (default here: on; `=false` turns it off, as Docker's default is)
 *   - mask=/p:/q, unmask=ALL|/p:/q (podman's): more masked /proc paths, or fewer masked and read-only
 *   - seccomp=unconfined (no filter) or seccomp=PATH (a profile in Docker's JSON format, read by
 *     the caller: `readProfile`); skiff's default profile otherwise
 *   - label=disable (there is no SELinux labelling here); apparmor=unconfined
 */
export function securityOptions(capAdd: string[], capDrop: string[], securityOpt: string[], readProfile: (path: string) => string): SecurityOptions {
  const out: SecurityOptions = { capabilities: capabilitySet(capAdd, capDrop), noNewPrivileges: true, mask: [], unmask: [], seccomp: 'default' }
  for (const opt of securityOpt) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(opt)
    const [key, value] = [m?.[1] ?? '', m?.[2]]
    if (key === 'no-new-privileges') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new SkiffError('E_USAGE', `--security-opt ${opt}: expected true or false`, { hint: HINT })
      out.noNewPrivileges = value !== 'false'
    } else if (key === 'mask' && value !== undefined) {
      out.mask.push(...paths(opt, value, false))
    } else if (key === 'unmask' && value !== undefined) {
      out.unmask.push(...paths(opt, value, true))
    } else if (key === 'seccomp' && value === 'unconfined') {
      out.seccomp = 'unconfined'
    } else if (key === 'seccomp' && value) {
      out.seccomp = { path: value, text: readProfile(value) }
    } else if ((key === 'label' && value === 'disable') || (key === 'apparmor' && value === 'unconfined')) {
      // neither SELinux labels nor AppArmor profiles are applied by skiff: this is what happens
    } else if (key === 'label' || key === 'apparmor') {
      throw new SkiffError('E_USAGE', `--security-opt ${opt}: skiff applies no ${key === 'label' ? 'SELinux labels' : 'AppArmor profiles'}`, { hint: `${key}=${key === 'label' ? 'disable' : 'unconfined'} is what skiff does` })
    } else {
      throw new SkiffError('E_USAGE', `--security-opt ${opt}: unknown option`, { hint: HINT })
    }
  }
  return out
}
