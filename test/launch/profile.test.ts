import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chooseProfile, passedHostEnv, profileBinds } from '../../core/launch/profile.js'

test('the profile: --profile wins, then SKIFF_PROFILE, then a Slurm job step, else default', () => {
  const slurm = { SLURM_JOB_ID: '7', SLURM_STEP_ID: '0' }
  assert.equal(chooseProfile('default', slurm), { name: 'default', reason: '--profile=default' })
  assert.is((chooseProfile(undefined, slurm) as { name: string }).name, 'hpc')
  assert.match((chooseProfile(undefined, slurm) as { reason: string }).reason, /job step 7\.0/)
  assert.is((chooseProfile(undefined, { SLURM_JOB_ID: '7' }) as { name: string }).name, 'default')
  assert.is((chooseProfile(undefined, { ...slurm, SKIFF_PROFILE: 'default' }) as { name: string }).name, 'default')
  assert.ok('error' in chooseProfile('fast', {}))
})

test('--env-host: the host environment without loader paths, PATH, shell state or skiff settings', () => {
  const env = passedHostEnv({ SLURM_PROCID: '1', PMI_FD: '5', PATH: '/h', LD_LIBRARY_PATH: '/l', SKIFF_ROOT: '/s', 'BASH_FUNC_x%%': '() {}', OMP_NUM_THREADS: '4', SHLVL: '2' })
  assert.equal(env, ['SLURM_PROCID=1', 'PMI_FD=5', 'OMP_NUM_THREADS=4'])
})

test('hpc binds: home, /tmp, and the working directory unless a bind covers it', () => {
  assert.equal(profileBinds('/home/a', '/home/a/run', []), { binds: ['/home/a', '/tmp'], cwdInside: true })
  assert.equal(profileBinds('/home/a', '/scratch/a', []), { binds: ['/home/a', '/tmp', '/scratch/a'], cwdInside: true })
  assert.equal(profileBinds('/home/a', '/scratch/a', ['cwd', 'tmp']), { binds: ['/home/a'], cwdInside: false })
  assert.equal(profileBinds('/home/a', '/', ['home']), { binds: ['/tmp'], cwdInside: false })
  assert.equal(profileBinds('/home/a', '/home/ab', []), { binds: ['/home/a', '/tmp', '/home/ab'], cwdInside: true })
})

test.run()
