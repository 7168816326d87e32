// A tar writer for archives skiff makes itself (layers of `skiff build`, COPY's sources): POSIX
// ustar with pax records for what ustar cannot hold, nothing that depends on the machine or the
// moment (no user or group names, no atime or ctime), so that the same files give the same bytes.
// Writes synchronously to a file descriptor. Does I/O.
import { closeSync, openSync, readSync, writeSync } from 'node:fs'

const BLOCK = 512
const ZERO = Buffer.alloc(BLOCK * 2)

export interface TarEntry {
  /** relative, '/'-separated; a directory's ends with '/' */
  name: string
  /** '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device, '5' directory, '6' fifo */
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6'
  mode: number
  uid: number
  gid: number
  /** seconds */
  mtime: number
  size?: number
  linkname?: string
  devmajor?: number
  devminor?: number
}

function octal(buf: Buffer, at: number, width: number, value: number): void {
  const max = 8 ** (width - 1) - 1
  buf.write(Math.min(Math.max(0, Math.floor(value)), max).toString(8).padStart(width - 1, '0'), at, width - 1, 'ascii')
  buf[at + width - 1] = 0
}

/** One pax record "LEN key=value\n", LEN counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const bodyLen = Buffer.byteLength(body)
  let len = bodyLen + 1
  while (String(len).length + bodyLen !== len) len++
  return `${len}${body}`
}

export class TarWriter {
  constructor(private fd: number) {}

  private write(buf: Buffer): void {
    for (let at = 0; at < buf.length; ) at += writeSync(this.fd, buf, at, buf.length - at)
  }

  private header(e: TarEntry): void {
    const name = Buffer.from(e.name)
    const link = Buffer.from(e.linkname ?? '')
    const size = e.size ?? 0
    let pax = ''
    if (name.length > 100) pax += paxRecord('path', e.name)
    if (link.length > 100) pax += paxRecord('linkpath', e.linkname!)
    if (size > 0o77777777777) pax += paxRecord('size', String(size))
    if (e.uid > 0o7777777) pax += paxRecord('uid', String(e.uid))
    if (e.gid > 0o7777777) pax += paxRecord('gid', String(e.gid))
    if (pax) {
      const body = Buffer.from(pax)
      this.header({ name: 'PaxHeaders/' + e.name.slice(0, 80), type: 'x' as TarEntry['type'], mode: 0o644, uid: 0, gid: 0, mtime: e.mtime, size: body.length })
      this.write(body)
      this.pad(body.length)
    }
    const h = Buffer.alloc(BLOCK)
    name.copy(h, 0, 0, Math.min(100, name.length))
    octal(h, 100, 8, e.mode & 0o7777)
    octal(h, 108, 8, e.uid)
    octal(h, 116, 8, e.gid)
    octal(h, 124, 12, size > 0o77777777777 ? 0 : size)
    octal(h, 136, 12, e.mtime)
    h.fill(0x20, 148, 156)
    h.write(e.type, 156, 1, 'ascii')
    link.copy(h, 157, 0, Math.min(100, link.length))
    h.write('ustar\x0000', 257, 8, 'ascii')
    if (e.type === '3' || e.type === '4') {
      octal(h, 329, 8, e.devmajor ?? 0)
      octal(h, 337, 8, e.devminor ?? 0)
    }
    let sum = 0
    for (const b of h) sum += b
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii')
    this.write(h)
  }

  private pad(size: number): void {
    if (size % BLOCK) this.write(ZERO.subarray(0, BLOCK - (size % BLOCK)))
  }

  /** An entry without data, or with `data` (a Buffer, or a file to copy `size` bytes from). */
  entry(e: TarEntry, data?: Buffer | { path: string }): void {
    const size = Buffer.isBuffer(data) ? data.length : (e.size ?? 0)
    this.header({ ...e, size })
    if (Buffer.isBuffer(data)) {
      this.write(data)
    } else if (data) {
      const fd = openSync(data.path, 'r')
      try {
        const buf = Buffer.alloc(1 << 20)
        let left = size
        while (left > 0) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, left), null)
          // a file that shrank meanwhile: zeros, as the header promised its size
          if (n === 0) buf.fill(0)
          const k = n === 0 ? Math.min(buf.length, left) : n
          this.write(buf.subarray(0, k))
          left -= k
        }
      } finally {
        closeSync(fd)
      }
    }
    this.pad(size)
  }

  end(): void {
    this.write(ZERO)
  }
}
