// Random ids and names without node:crypto, whose first load costs ~2 ms (it brings streams and
// every cipher along) on the start-up path of `run`, which needs only a few random bytes. Does
// I/O (reads /dev/urandom).
import { closeSync, openSync, readSync } from 'node:fs'
import type * as NodeCrypto from 'node:crypto'

function randomBytes(n: number): Buffer {
  const buf = Buffer.alloc(n)
  const fd = openSync('/dev/urandom', 'r')
  try {
    for (let got = 0; got < n; ) got += readSync(fd, buf, got, n - got, null)
  } finally {
    closeSync(fd)
  }
  return buf
}

/** `n` random bytes as hex: randomHex(32) is a container id. */
export function randomHex(n: number): string {
  return randomBytes(n).toString('hex')
}

/** A uniform integer in [0, n), n ≤ 2^32 (rejection sampling: no modulo bias). */
export function randomBelow(n: number): number {
  const limit = Math.floor(0x100000000 / n) * n
  for (;;) {
    const v = randomBytes(4).readUInt32LE(0)
    if (v < limit) return v % n
  }
}

let crypto: typeof NodeCrypto | undefined

/** node:crypto, loaded on first use (hashing: pull, load, save, the shim's first write). */
export function nodeCrypto(): typeof NodeCrypto {
  return (crypto ??= require('node:crypto') as typeof NodeCrypto)
}
