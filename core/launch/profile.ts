// Profiles: a named set of defaults for `run`/`create` flags, each of which the user may still
// give otherwise. `hpc` is what a scientist on a shared cluster expects (Apptainer's and
// Charliecloud's defaults): you are yourself, the host's network, environment, home, working
// directory and /tmp, no pid namespace of your own, and an image root that is never changed on
// disk (writes go to a tmpfs). Chosen by --profile, or by being inside a Slurm job step. Pure.

export type ProfileName = 'default' | 'hpc'

export interface ProfileChoice {
  name: ProfileName
  /** why, for `skiff info` and `inspect`: "--profile=hpc", "SLURM_JOB_ID and SLURM_STEP_ID are set", ... */
  reason: string
}

/** --profile, else hpc inside a Slurm job step (both ids set), else default. */
export function chooseProfile(asked: string | undefined, env: Record<string, string | undefined>): ProfileChoice | { error: string } {
  if (asked !== undefined) {
    if (asked === 'hpc' || asked === 'default') return { name: asked, reason: `--profile=${asked}` }
    return { error: `--profile=${asked}: expected hpc or default` }
  }
  if (env.SKIFF_PROFILE !== undefined && env.SKIFF_PROFILE !== '') {
    if (env.SKIFF_PROFILE === 'hpc' || env.SKIFF_PROFILE === 'default') return { name: env.SKIFF_PROFILE, reason: `SKIFF_PROFILE=${env.SKIFF_PROFILE}` }
    return { error: `SKIFF_PROFILE=${env.SKIFF_PROFILE}: expected hpc or default` }
  }
  if (env.SLURM_JOB_ID && env.SLURM_STEP_ID) return { name: 'hpc', reason: `inside Slurm job step ${env.SLURM_JOB_ID}.${env.SLURM_STEP_ID} (SLURM_JOB_ID and SLURM_STEP_ID are set)` }
  return { name: 'default', reason: 'not inside a Slurm job step' }
}

/**
 * Host variables never passed in by --env-host: the host's search paths and loader settings
 * (programs and libraries of the host would be used inside: Apptainer drops these too), what
 * describes the host's shell or session rather than the job, and skiff's own settings.
 */
export const HOST_ENV_DENY = new Set([
  'PATH', 'LD_LIBRARY_PATH', 'LD_PRELOAD', 'LD_AUDIT', 'LD_BIND_NOW', 'LD_DEBUG', 'LD_PROFILE',
  'HOSTNAME', 'SHLVL', 'OLDPWD', 'PWD', '_', 'PS1', 'PS2', 'PROMPT_COMMAND', 'BASH_ENV', 'ENV',
  'XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS', 'SSH_AUTH_SOCK', 'container',
])

/** The host's environment as --env-host passes it (HOST_ENV_DENY, SKIFF_* and BASH_FUNC_* left out). */
export function passedHostEnv(env: Record<string, string | undefined>): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || HOST_ENV_DENY.has(k) || k.startsWith('SKIFF_') || k.startsWith('BASH_FUNC_') || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) continue
    out.push(`${k}=${v}`)
  }
  return out
}

/** What --no-mount may name (Apptainer's spelling): the profile's binds a user can leave out. */
export const PROFILE_MOUNTS = ['home', 'cwd', 'tmp'] as const
export type ProfileMount = (typeof PROFILE_MOUNTS)[number]

/**
 * The hpc profile's binds: $HOME, the working directory (when not under a bind already), and /tmp,
 * each at the same path inside; and whether the working directory is then inside the container.
 */
export function profileBinds(home: string | undefined, cwd: string, left: ProfileMount[]): { binds: string[]; cwdInside: boolean } {
  const binds: string[] = []
  const covered = (p: string) => binds.some((b) => p === b || p.startsWith(b.endsWith('/') ? b : `${b}/`))
  if (home && home !== '/' && !left.includes('home')) binds.push(home)
  if (!left.includes('tmp')) binds.push('/tmp')
  if (cwd !== '/' && !left.includes('cwd') && !covered(cwd)) binds.push(cwd)
  return { binds, cwdInside: cwd !== '/' && covered(cwd) }
}
