// skiff restart: see container-verbs.ts
export { restart as default } from './container-verbs.js'
