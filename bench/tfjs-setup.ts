/**
 * Makes @tensorflow/tfjs-core + tfjs-backend-cpu usable as a peer. The gradient rules of tfjs live in
 * `tfjs-core/dist/register_all_gradients.js`, an ES module tree with extensionless imports that only
 * the `@tensorflow/tfjs` union bundle normally pulls in; Node cannot import it directly. We bundle that
 * one entry with esbuild (already a dev dependency) into a cached file and import it. The bundle carries
 * its own copy of the core modules, but tfjs keeps its engine, kernel and gradient registries on the
 * global object and its `Tensor` class answers `instanceof` by shape, so the copy registers into, and
 * runs on, the same engine — tfjs's own gradient code, unchanged.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'

const require = createRequire(import.meta.url)

const registerGradients = async (): Promise<void> => {
  const entry = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist', 'register_all_gradients.js')
  const dir = join(os.tmpdir(), 'fovea-bench')
  const bundle = join(dir, `tfjs-gradients-${tf.version_core}.mjs`)
  if (!existsSync(bundle)) {
    mkdirSync(dir, { recursive: true })
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: bundle, logLevel: 'warning' })
  }
  await import(pathToFileURL(bundle).href)
}

/**
 * Registers tfjs's gradients, selects its pure-JS CPU backend and waits for it. Production mode is
 * tfjs's own "fastest" setting; in 4.x it only silences warnings (the tfjs-node advert included).
 */
export const setUpTfjsCpu = async (): Promise<typeof tf> => {
  await registerGradients()
  tf.enableProdMode()
  await tf.setBackend('cpu')
  await tf.ready()
  return tf
}
