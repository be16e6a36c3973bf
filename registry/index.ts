/**
 * fovea's registries and config system (`import { registry } from 'fovea'`): immutable name → factory
 * tables, `buildModel`, and detectron2/mmdetection-style configs. See the README section "Registering
 * your own components".
 */
export { createRegistry, type Registry, type RegistryEntry, type RegisterOptions } from './registry.js'
export {
  buildComponent,
  buildModel,
  emptyRegistries,
  registerAll,
  REGISTRY_NAMES,
  type Factory,
  type Registries,
  type RegistryName,
  type TableEntry,
} from './registries.js'
export { closestMatch, editDistance, type BuildError, type ConfigError, type RegistryError } from './errors.js'
export * from './config/index.js'
