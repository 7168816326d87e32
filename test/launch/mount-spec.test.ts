// -v, --mount and --tmpfs as Docker reads them.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { checkTargets, parseMount, parseTmpfs, parseVolume } from '../../core/launch/mount-spec.js'

const t = suite('mount-spec')

t('-v: host paths, named and anonymous volumes, options', () => {
  assert.equal(parseVolume('/srv/data:/data:ro'), { type: 'bind', source: '/srv/data', target: '/data', readonly: true, flags: [] })
  assert.equal(parseVolume('./d:/d', '/home/ann'), { type: 'bind', source: '/home/ann/d', target: '/d', readonly: false, flags: [] })
  assert.equal(parseVolume('cache:/var/cache:rw,z'), { type: 'volume', source: 'cache', target: '/var/cache', readonly: false, flags: [] })
  assert.equal(parseVolume('/scratch'), { type: 'volume', source: '', target: '/scratch', readonly: false, flags: [] })
  assert.equal(parseVolume('/a:/b:ro,noexec').flags, ['noexec'])
  assert.throws(() => parseVolume('data:relative'), /container path "relative" is not absolute/)
  assert.throws(() => parseVolume('/a:/b:bogus'), /unknown option "bogus"/)
  assert.throws(() => parseVolume('/a:/b:ro:x'), /expected \[SOURCE:\]TARGET\[:OPTIONS\]/)
  assert.throws(() => parseVolume('bad name!:/x'), /neither a path nor a volume name/)
})

t('--mount: bind (source must exist), volume, tmpfs with size and mode', () => {
  assert.equal(parseMount('type=bind,source=/srv,target=/srv,readonly'), { type: 'bind', source: '/srv', target: '/srv', readonly: true, flags: [], mustExist: true })
  assert.equal(parseMount('type=volume,src=v1,dst=/v'), { type: 'volume', source: 'v1', target: '/v', readonly: false, flags: [] })
  assert.equal(parseMount('type=tmpfs,destination=/run,tmpfs-size=1m,tmpfs-mode=700'), { type: 'tmpfs', source: '', target: '/run', readonly: false, flags: [], size: 1048576, mode: 0o700 })
  assert.throws(() => parseMount('type=nfs,target=/x'), /type "nfs" is not bind, volume or tmpfs/)
  assert.throws(() => parseMount('type=bind,target=/x'), /needs source=/)
  assert.throws(() => parseMount('type=volume,target=/x,colour=red'), /unknown key "colour"/)
})

t('--tmpfs: options; two mounts on one path are an error', () => {
  assert.equal(parseTmpfs('/run:size=64m,mode=1777,noexec'), { type: 'tmpfs', source: '', target: '/run', readonly: false, flags: ['nosuid', 'nodev', 'noexec'], size: 64 * 1024 * 1024, mode: 0o1777 })
  assert.equal(parseTmpfs('/x:exec,dev').flags, ['nosuid'])
  assert.throws(() => parseTmpfs('/x:huge'), /unknown option "huge"/)
  assert.throws(() => checkTargets([parseVolume('/a:/x'), parseTmpfs('/x')]), /two mounts on \/x/)
  assert.throws(() => checkTargets([parseVolume('/a:/x'), parseVolume('/a:/x:ro')]), /two mounts on \/x/)
  // the same mount twice is one mount
  assert.equal(checkTargets([parseVolume('/a:/x'), parseVolume('/a:/x'), parseVolume('v:/y')]), [parseVolume('/a:/x'), parseVolume('v:/y')])
})

t.run()
