// zstd decompression as a Node stream, for zstd-compressed layers. Pure (no I/O of its own).
//
// Node 20's zlib has no zstd (it arrived in 22.15/23.8), so this wraps fzstd, a pure-JS decoder
// that embeds in the single executable without a native addon.
import { Decompress } from 'fzstd'
import { Transform } from 'node:stream'

export function createZstdDecompress(): Transform {
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        decoder.push(chunk)
        done()
      } catch (err) {
        done(new Error(`zstd: ${(err as Error).message}`))
      }
    },
    flush(done) {
      try {
        decoder.push(new Uint8Array(0), true)
        done()
      } catch (err) {
        done(new Error(`zstd: ${(err as Error).message}`))
      }
    },
  })
  // fzstd may hand out views of its own window: copy before passing them on
  const decoder = new Decompress((data) => {
    out.push(Buffer.from(data))
  })
  return out
}
