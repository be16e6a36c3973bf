import * as E from 'fp-ts/Either'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { buildModel, emptyRegistries, loadConfig, registerAll, type Registries } from '../../registry/index.js'

const custom = (f: string) => join('test', 'registry', 'fixtures', 'custom', f)
const right = <A>(e: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got Left: ${e.left.message}`)
  return e.right
}
const left = <L>(e: E.Either<L, unknown>): L => {
  if (E.isRight(e)) throw new Error('expected Left, got Right')
  return e.left
}

type ToyModel = {
  kind: string
  backbone: {
    init: (key: F.Tensor, inShape: readonly number[]) => { outShape: readonly number[]; params: { conv1: { weight: F.Tensor } }; state: object }
    apply: (params: unknown, state: object, x: F.Tensor) => readonly [{ conv1: F.Tensor }, object]
  }
}

test('custom_imports: a user module registers a backbone and a config key; the config builds with it', async () => {
  const loaded = right(await loadConfig(custom('uses_toy.yaml')))
  assert.equal(loaded.imported, ['./toy_backbone.ts'])
  assert.equal(loaded.registries.BACKBONE.list(), ['ToyBackbone'])
  assert.is(right(loaded.registries.BACKBONE.describe('ToyBackbone')), 'BACKBONE.ToyBackbone: one strided conv, for the README')
  assert.equal(emptyRegistries.BACKBONE.list(), [], 'nothing registered globally')
  const cfg = loaded.cfg as typeof loaded.cfg & { MODEL: { TOY: { WIDTH: number } } }
  assert.is(cfg.MODEL.TOY.WIDTH, 4)
  const model = right(buildModel<ToyModel>(loaded.cfg, loaded.registries))
  assert.is(model.kind, 'ToyArch')
  const { outShape, params, state } = model.backbone.init(F.random.key(0), [2, 3, 64, 32])
  assert.equal(outShape, [2, 4, 4, 2])
  assert.equal(params.conv1.weight.shape, [4, 3, 7, 7])
  const [features] = model.backbone.apply(params, state, F.ones([2, 3, 64, 32]))
  assert.equal(features.conv1.shape, outShape)
})

test('custom_imports registers into the registries the caller passes, and only into a copy', async () => {
  const mine = right(registerAll(emptyRegistries, { LOSS: { l1: () => 1 } }))
  const loaded = right(await loadConfig(custom('uses_toy.yaml'), { registries: mine }))
  assert.equal(loaded.registries.LOSS.list(), ['l1'])
  assert.equal(loaded.registries.BACKBONE.list(), ['ToyBackbone'])
  assert.equal(mine.BACKBONE.list(), [])
})

test('mmdetection form {imports, allow_failed_imports}: a module imported twice registers once; failures skipped', async () => {
  const loaded = right(await loadConfig(custom('mmdet_style_imports.json')))
  assert.equal(loaded.imported, ['./toy_backbone.ts'])
  assert.is(loaded.skippedImports.length, 1)
  assert.match(loaded.skippedImports[0]!, './does_not_exist.ts')
  assert.is((loaded.cfg as unknown as { MODEL: { TOY: { WIDTH: number } } }).MODEL.TOY.WIDTH, 2)
})

test('custom_imports failures are Left values naming the config file and line', async () => {
  const missing = left(await loadConfig(custom('missing_module.yaml')))
  assert.is(missing.kind, 'ConfigError')
  assert.match(missing.message, /missing_module\.yaml:3: custom_imports: \.\/does_not_exist\.ts: cannot import: /)
  const noRegister = left(await loadConfig(custom('no_register.yaml')))
  assert.match(noRegister.message, /no_register\.yaml:1: custom_imports: \.\/no_register\.ts: exports no register\(registries\) function/)
  const duplicate = left(await loadConfig(custom('duplicate.yaml')))
  assert.is(duplicate.kind, 'RegistryError')
  assert.match(duplicate.message, /duplicate\.yaml:1: custom_imports: \.\/duplicate\.ts: BACKBONE: "ToyBackbone" is already registered/)
  const withoutImport = left(await loadConfig(custom('unknown_toy_key.yaml')))
  assert.match(withoutImport.message, /unknown_toy_key\.yaml:3: MODEL\.TOY: unknown key/)
})

test('a registration that would collide with the caller registries fails unless the module overrides', async () => {
  const taken: Registries = right(registerAll(emptyRegistries, { META_ARCH: { ToyArch: () => 0 } }))
  const err = left(await loadConfig(custom('uses_toy.yaml'), { registries: taken }))
  assert.match(err.message, 'META_ARCH: "ToyArch" is already registered')
})

test.run()
