// The keys that detach a terminal from a container (attach, run -it, exec -it), as Docker spells
// them. Pure.
import { SkiffError } from '../errors.js'

/** Docker's default detach keys: Ctrl-P Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = [0x10, 0x11]

/**
 * --detach-keys as Docker reads it: comma-separated keys, each a character or ctrl-X (X a
 * letter, or one of @ [ \ ] ^ _); "" turns detaching off.
 *   parseDetachKeys('ctrl-p,ctrl-q') → [0x10, 0x11];  parseDetachKeys('ctrl-a,x') → [0x01, 0x78]
 */
export function parseDetachKeys(text: string): number[] {
  if (text === '') return []
  return text.split(',').map((k) => {
    const m = /^ctrl-(.)$/i.exec(k)
    if (m) {
      const c = m[1]!.toUpperCase().charCodeAt(0)
      if (c >= 0x40 && c <= 0x5f) return c - 0x40
    } else if (k.length === 1) return k.charCodeAt(0)
    throw new SkiffError('E_USAGE', `--detach-keys ${JSON.stringify(text)}: ${JSON.stringify(k)} is not a key`, { hint: 'keys are single characters or ctrl-<letter>, joined with commas: e.g. ctrl-p,ctrl-q' })
  })
}
