// skiff wait: see container-verbs.ts
export { wait as default } from './container-verbs.js'
