// skiff unpause: see cgroup-verbs.ts
export { unpause as default } from './cgroup-verbs.js'
