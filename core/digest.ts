// sha256 digests of files and buffers. Does I/O (reads).
import { nodeCrypto } from './random.js'
import { createReadStream } from 'node:fs'
import { SkiffError } from './errors.js'

export const DIGEST_RE = /^sha256:([0-9a-f]{64})$/

/** The hex part of "sha256:<hex>", or a clear error. */
export function digestHex(digest: string, what = 'digest'): string {
  const m = DIGEST_RE.exec(digest)
  if (!m) throw new SkiffError('E_BAD_DIGEST', `${what} ${JSON.stringify(digest)} is not a sha256 digest`, { hint: 'the image metadata is damaged' })
  return m[1]!
}

export function sha256(data: Buffer | string): string {
  return `sha256:${nodeCrypto().createHash('sha256').update(data).digest('hex')}`
}

export async function sha256File(path: string): Promise<{ digest: string; size: number }> {
  const hash = nodeCrypto().createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { digest: `sha256:${hash.digest('hex')}`, size }
}
