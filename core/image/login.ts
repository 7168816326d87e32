// skiff login / logout: check credentials against the registry, keep them in the containers auth
// file (the one podman and skopeo read). Does I/O.
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { SkiffError } from '../errors.js'
import { writeFileAtomic } from '../lock.js'
import { RegistryClient, authFile } from './registry.js'

type AuthFile = { auths?: Record<string, { auth?: string }> } & Record<string, unknown>

function readAuth(path: string): AuthFile {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as AuthFile
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new SkiffError('E_AUTH_FILE', `cannot read ${path}: ${(err as Error).message}`, { hint: 'fix or remove the file' })
  }
}

/** "docker.io", "registry.example.com:5000": a registry name as the auth file keys it. */
export function registryKey(text: string): string {
  const host = text.replace(/^https?:\/\//, '').replace(/\/.*$/, '')
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host
}

export async function login(registry: string, user: string, password: string, tlsVerify: boolean): Promise<string> {
  const key = registryKey(registry)
  const client = new RegistryClient(key, '', { tlsVerify, credentials: `${user}:${password}` })
  await client.ping()
  const path = authFile()
  const auth = readAuth(path)
  auth.auths = { ...(auth.auths ?? {}), [key]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeFileAtomic(path, JSON.stringify(auth, null, 2), 0o600)
  return key
}

export function logout(registry: string): boolean {
  const key = registryKey(registry)
  const path = authFile()
  const auth = readAuth(path)
  if (!auth.auths?.[key]) return false
  delete auth.auths[key]
  writeFileAtomic(path, JSON.stringify(auth, null, 2), 0o600)
  return true
}
