// skiff stats: see cgroup-verbs.ts
export { stats as default } from './cgroup-verbs.js'
