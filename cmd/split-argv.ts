// Split `VERB [OPTIONS] IMAGE [COMMAND [ARG...]]` at the image, so the container's own arguments
// (`ls -la`) are never read as skiff options. Pure.
//
//   ['run', '--rm', '-e', 'A=1', 'busybox', 'ls', '-la'], valueOptions ['-e', ...]
//     → { head: ['run', '--rm', '-e', 'A=1', 'busybox'], command: ['ls', '-la'] }

export interface SplitArgv {
  head: string[]
  command: string[]
}

/**
 * `valueOptions` are the options that consume the next argument (both spellings: '-e', '--env').
 * `positionals` counts the positionals that belong to skiff (1 for run: the image; 2 for exec).
 */
export function splitAtCommand(argv: string[], valueOptions: ReadonlySet<string>, positionals = 1): SplitArgv {
  let seen = 0
  let verbSeen = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      // `run --rm -- IMAGE CMD`: everything after is positional
      const rest = argv.slice(i + 1)
      const need = positionals - seen
      return { head: [...argv.slice(0, i), ...rest.slice(0, need)], command: rest.slice(need) }
    }
    if (a.startsWith('--')) {
      if (!a.includes('=') && valueOptions.has(a)) i++
      continue
    }
    if (a.startsWith('-') && a.length > 1) {
      // a cluster like -it or -ite VALUE: only its last letter may take a value
      if (valueOptions.has(`-${a[a.length - 1]}`)) i++
      continue
    }
    if (!verbSeen) {
      verbSeen = true
      continue
    }
    seen++
    if (seen === positionals) return { head: argv.slice(0, i + 1), command: argv.slice(i + 1) }
  }
  return { head: argv, command: [] }
}
