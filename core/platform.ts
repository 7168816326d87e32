// This machine's platform in the OCI image spec's words (GOARCH names: amd64, not x64). Pure.
import { arch } from 'node:os'

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }

/** amd64, arm64, ... */
export function hostArch(): string {
  return GOARCH[arch()] ?? arch()
}

/** linux/amd64 */
export function hostPlatform(): string {
  return `linux/${hostArch()}`
}
