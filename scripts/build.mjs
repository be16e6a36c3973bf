// Builds the package: one ESM bundle (dist/index.js, `webgpu` left external) and type declarations.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

rmSync('dist', { recursive: true, force: true })
await build({
  entryPoints: ['index.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: 'dist/index.js',
  // yaml ships CommonJS for node (bundled into ESM it fails on require('process')); fp-ts is bundled
  // because its subpath imports (`fp-ts/Either`) are directory imports that Node's ESM loader refuses.
  external: ['webgpu', 'yaml'],
  sourcemap: true,
  logLevel: 'warning',
})
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
console.log('built dist/index.js and dist/index.d.ts')
