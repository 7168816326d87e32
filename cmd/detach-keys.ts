// --detach-keys, as run, exec, start and attach take it.
import type { OptionSpec } from './cli.js'
import { parseDetachKeys } from '../core/container/detach-keys.js'

export const detachKeysOption: OptionSpec = {
  name: 'detach-keys',
  type: 'string',
  placeholder: 'KEYS',
  describe: 'The keys that detach and leave it running, e.g. ctrl-a,d ("": none); default ctrl-p,ctrl-q',
}

/** The option's keys; undefined when it was not given (the default then applies). */
export function parseDetachKeysOption(text: string | undefined): number[] | undefined {
  return text === undefined ? undefined : parseDetachKeys(text)
}
