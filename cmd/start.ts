// skiff start: see container-verbs.ts
export { start as default } from './container-verbs.js'
