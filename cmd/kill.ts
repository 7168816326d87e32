// skiff kill: see container-verbs.ts
export { kill as default } from './container-verbs.js'
