// skiff's default seccomp profile (seccomp-default.json), as its text. Data.
import PROFILE from './seccomp-default.json' with { type: 'text' }

// esbuild imports the file as its text (parsed only when a program is compiled); TypeScript types
// it as the object
export const DEFAULT_PROFILE = PROFILE as unknown as string
