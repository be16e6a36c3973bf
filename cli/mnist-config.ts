/**
 * The MNIST job's part of the config system: the keys it adds to detectron2's spec (detectron2's
 * `add_xxx_config` pattern), the registry entry that names its model, and loading a config file with both.
 * The model is reached only by name (`MODEL.META_ARCHITECTURE: MnistResNet`) through `buildModel`, as a
 * detectron2 model is.
 */
import * as E from 'fp-ts/Either'
import { buildMnistResNet, type MnistResNetConfig } from '../models/mnist/resnet.js'
import type { Layer } from '../models/nn/layer.js'
import * as R from '../registry/index.js'

/** Keys the job reads beyond detectron2's: the model's stem stride, blocks and classes, epochs, optimizer, augmentation, the data split. */
export const mnistConfigSpec = R.node({
  MODEL: R.node({
    MNIST_RESNET: R.node({ STEM_STRIDE: R.int(1), STAGE_BLOCKS: R.list(R.t.int, [1, 1, 1]), NUM_CLASSES: R.int(10) }),
  }),
  SOLVER: R.node({
    // Training length in passes over the training set; SOLVER.MAX_ITER is derived from it.
    EPOCHS: R.int(3),
    OPTIMIZER: R.str('SGD', ['SGD', 'AdamW']),
  }),
  INPUT: R.node({
    // Each training image moves by up to this many pixels in x and y (data/augment.ts randomShift).
    RANDOM_SHIFT: R.int(0),
  }),
  DATASETS: R.node({
    MNIST: R.node({ TRAIN_FRACTION: R.float(0.85), PER_CLASS: R.int(0) }),
  }),
})

/** The spec MNIST configs are checked against: detectron2's plus `mnistConfigSpec`. */
export const mnistSpec: R.NodeSpec = (() => {
  const spec = R.extendSpec(R.detectron2Spec, mnistConfigSpec, 'mnistConfigSpec')
  if (E.isLeft(spec)) throw new Error(spec.left.message)
  return spec.right
})()

/** The config type the job reads: detectron2's keys plus the extension's. */
export type MnistConfig = R.Config & MnistResNetConfig & R.ValueOf<typeof mnistConfigSpec>

/** `registries` with the MNIST classifier as META_ARCH `MnistResNet`. */
export const registerMnist = (registries: R.Registries): E.Either<R.RegistryError, R.Registries> =>
  R.registerAll(registries, {
    META_ARCH: { MnistResNet: { factory: (cfg) => buildMnistResNet(cfg as MnistConfig), doc: 'a small ResNet classifier for 28x28 digits (models/mnist/resnet.ts)' } },
  })

/** Loads a config file (with `_BASE_`, overrides) against `mnistSpec` and builds its model by name. */
export const loadMnistModel = async (
  file: string,
  overrides: readonly string[] = [],
): Promise<E.Either<R.ConfigError | R.RegistryError | R.BuildError, { readonly cfg: MnistConfig; readonly model: Layer }>> => {
  const registries = registerMnist(R.emptyRegistries)
  if (E.isLeft(registries)) return registries
  const loaded = await R.loadConfig(file, { registries: registries.right, spec: mnistSpec, overrides })
  if (E.isLeft(loaded)) return loaded
  const cfg = loaded.right.cfg as MnistConfig
  const model = R.buildModel<Layer>(cfg, loaded.right.registries)
  return E.isLeft(model) ? model : E.right({ cfg, model: model.right })
}
