// Reading /etc/passwd and /etc/group of an image through its layers, never through a symlink.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readImageFile } from '../../core/image/files.js'
import { tempDir } from '../helpers/env.js'

const t = suite('image-files')

t('the top-most layer wins; a parent symlink (etc -> /etc) is never followed to the host', () => {
  const dir = tempDir('skiff-imgfiles-')
  const lower = join(dir, 'lower')
  const upper = join(dir, 'upper')
  const evil = join(dir, 'evil')
  mkdirSync(join(lower, 'etc'), { recursive: true })
  mkdirSync(join(upper, 'etc'), { recursive: true })
  mkdirSync(evil, { recursive: true })
  writeFileSync(join(lower, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n')
  writeFileSync(join(upper, 'etc', 'passwd'), 'app:x:1000:1000::/home/app:/bin/sh\n')
  assert.match(readImageFile([upper, lower], 'etc/passwd')!, /^app:/)
  assert.match(readImageFile([lower], 'etc/passwd')!, /^root:/)
  // a layer whose etc is a link to a host directory
  const host = join(dir, 'host-etc')
  mkdirSync(host)
  writeFileSync(join(host, 'passwd'), 'host-secret:x:0:0::/:/bin/sh\n')
  symlinkSync(host, join(evil, 'etc'))
  assert.is(readImageFile([evil, lower], 'etc/passwd'), undefined)
})

t.run()
