// Process entry. Node's compile cache first (Node 22.8 and later; a no-op where it is absent or its folder cannot be
// written): a start then reuses the code compiled by the one before, instead of compiling every module again. Then
// the broker itself, which must load after it.
import module from 'node:module'

// typed for Node 20, which lacks it
;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()
await import('./main.js')
