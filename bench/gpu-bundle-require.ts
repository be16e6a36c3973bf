/**
 * Gives an ESM bundle of the GPU benchmark a global `require`. The remote-GPU packer bundles entries
 * with esbuild (`--format=esm --platform=node`); CommonJS dependencies inside the bundle — tfjs's Node
 * build (`require('util')`), `yaml` (`require('process')`) — then call Node built-ins through esbuild's
 * shim, which throws unless a `require` exists at run time. This module must be the entry's first
 * import: ES modules evaluate in import order, and esbuild keeps that order, so the global is in place
 * before any CommonJS dependency is first loaded. Under tsx it is unused and harmless.
 */
import { createRequire } from 'node:module'

const global = globalThis as { require?: NodeJS.Require }
global.require ??= createRequire(import.meta.url)
