// skiff pause: see cgroup-verbs.ts
export { pause as default } from './cgroup-verbs.js'
