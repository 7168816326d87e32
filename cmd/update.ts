// skiff update: see cgroup-verbs.ts
export { update as default } from './cgroup-verbs.js'
