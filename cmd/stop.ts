// skiff stop: see container-verbs.ts
export { stop as default } from './container-verbs.js'
