import * as E from 'fp-ts/Either'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import {
  buildComponent,
  buildModel,
  closestMatch,
  createRegistry,
  DEFAULT_CONFIG,
  editDistance,
  emptyRegistries,
  mergeConfig,
  registerAll,
  REGISTRY_NAMES,
  type Config,
  type Registries,
  type Registry,
} from '../../registry/index.js'

type Fn = (x: number) => number
const right = <A>(e: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got Left: ${e.left.message}`)
  return e.right
}
const left = <L>(e: E.Either<L, unknown>): L => {
  if (E.isRight(e)) throw new Error('expected Left, got Right')
  return e.left
}

test('register returns a new registry and leaves the old one unchanged', () => {
  const empty = createRegistry<Fn>('BACKBONE')
  const one = right(empty.register('double', (x) => 2 * x, { doc: 'times two' }))
  const two = right(one.register('add1', (x) => x + 1))
  assert.equal(empty.list(), [])
  assert.equal(one.list(), ['double'])
  assert.equal(two.list(), ['add1', 'double'], 'sorted')
  assert.is(right(two.lookup('double'))(5), 10)
  assert.is(right(two.describe('double')), 'BACKBONE.double: times two')
  assert.is(right(two.describe('add1')), 'BACKBONE.add1: (no description)')
  assert.is(two.kind, 'Registry')
  assert.is(two.name, 'BACKBONE')
  assert.ok(Object.isFrozen(two) && Object.isFrozen(two.entries) && Object.isFrozen(two.entries[0]))
})

test('a duplicate name is a Left unless override; override replaces in place', () => {
  const reg = right(right(createRegistry<Fn>('LOSS').register('l1', (x) => Math.abs(x))).register('l2', (x) => x * x))
  const dup = left(reg.register('l1', (x) => -x))
  assert.is(dup.kind, 'RegistryError')
  assert.is(dup.registry, 'LOSS')
  assert.is(dup.name, 'l1')
  assert.match(dup.message, 'LOSS: "l1" is already registered; pass { override: true } to replace it')
  const replaced = right(reg.register('l1', (x) => -x, { override: true }))
  assert.is(right(replaced.lookup('l1'))(3), -3)
  assert.is(right(reg.lookup('l1'))(-3), 3, 'the original registry still holds the old factory')
  assert.equal(replaced.entries.map((e) => e.name), ['l1', 'l2'], 'position kept')
})

test('lookup of an unknown name lists the registered names and the closest one', () => {
  const reg = ['build_resnet_backbone', 'build_resnet_fpn_backbone', 'build_retinanet_resnet_fpn_backbone'].reduce<Registry<Fn>>(
    (r, n) => right(r.register(n, (x) => x)),
    createRegistry<Fn>('BACKBONE'),
  )
  const err = left(reg.lookup('build_resnet_fpn_backbon'))
  assert.is(err.closest, 'build_resnet_fpn_backbone')
  assert.equal(err.known, ['build_resnet_backbone', 'build_resnet_fpn_backbone', 'build_retinanet_resnet_fpn_backbone'])
  assert.is(
    err.message,
    'BACKBONE: no entry named "build_resnet_fpn_backbon"; did you mean "build_resnet_fpn_backbone"? Registered: build_resnet_backbone, build_resnet_fpn_backbone, build_retinanet_resnet_fpn_backbone',
  )
  assert.is(left(reg.describe('nope')).kind, 'RegistryError')
  const empty = left(createRegistry<Fn>('NECK').lookup('FPN'))
  assert.is(empty.message, 'NECK: no entry named "FPN"; the registry is empty')
  assert.is(empty.closest, undefined)
})

test('register rejects empty names and non-functions', () => {
  const reg = createRegistry<Fn>('RPN_HEAD')
  assert.match(left(reg.register('', (x) => x)).message, 'non-empty string')
  assert.match(left(reg.register('x', 3 as unknown as Fn)).message, 'RPN_HEAD: the factory registered as "x" must be a function, got number')
})

test('edit distance and closest match', () => {
  assert.is(editDistance('kitten', 'sitting'), 3)
  assert.is(editDistance('RESNETS', 'resnets'), 0)
  assert.is(editDistance('', 'abc'), 3)
  assert.is(closestMatch('FCOS', ['RETINANET', 'FPN', 'FCOS_X']), 'FCOS_X')
  assert.is(closestMatch('abc', []), undefined)
  assert.is(closestMatch('abc', ['xyzxyz'], 2), undefined)
})

test('emptyRegistries holds every detectron2 registry plus NECK and LOSS, all empty', () => {
  assert.equal(Object.keys(emptyRegistries).sort(), [...REGISTRY_NAMES].sort())
  for (const n of ['META_ARCH', 'BACKBONE', 'PROPOSAL_GENERATOR', 'RPN_HEAD', 'ANCHOR_GENERATOR', 'ROI_HEADS', 'ROI_BOX_HEAD', 'ROI_MASK_HEAD', 'ROI_KEYPOINT_HEAD', 'SEM_SEG_HEAD', 'NECK', 'LOSS'] as const) {
    assert.is(emptyRegistries[n].name, n)
    assert.equal(emptyRegistries[n].list(), [])
  }
  assert.ok(Object.isFrozen(emptyRegistries))
})

test('registerAll fills several registries and reports the first problem', () => {
  const regs = right(registerAll(emptyRegistries, { BACKBONE: { a: () => 1, b: { factory: () => 2, doc: 'bee' } }, LOSS: { focal: () => 3 } }))
  assert.equal(regs.BACKBONE.list(), ['a', 'b'])
  assert.is(right(regs.BACKBONE.describe('b')), 'BACKBONE.b: bee')
  assert.equal(regs.LOSS.list(), ['focal'])
  assert.equal(emptyRegistries.BACKBONE.list(), [], 'input unchanged')
  assert.match(left(registerAll(regs, { BACKBONE: { a: () => 9 } })).message, 'BACKBONE: "a" is already registered')
  assert.is(right(right(registerAll(regs, { BACKBONE: { a: () => 9 } }, { override: true })).BACKBONE.lookup('a'))(DEFAULT_CONFIG, regs), 9)
  const bad = left(registerAll(regs, { BACKBONES: { x: () => 0 } } as never))
  assert.match(bad.message, 'no registry named "BACKBONES"')
})

// A toy detector: META_ARCH builds its backbone and a loss by the names the config gives.
const toyRegistries = (): Registries =>
  right(
    registerAll(emptyRegistries, {
      META_ARCH: {
        ToyArch: (cfg, regs) => ({
          backbone: buildComponent(regs, 'BACKBONE', cfg.MODEL.BACKBONE.NAME, cfg, { channels: 3 }),
          loss: buildComponent(regs, 'LOSS', 'l2', cfg),
        }),
      },
      BACKBONE: {
        Scale: (cfg: Config, _regs: Registries, input: { channels: number }) => ({
          channels: input.channels,
          apply: (x: F.Tensor) => F.mul(x, cfg.MODEL.RESNETS.DEPTH),
        }),
        Broken: () => F.reshape(F.zeros([2, 3]), [4]),
        Nested: (cfg: Config, regs: Registries) => buildComponent(regs, 'BACKBONE', 'Broken', cfg),
        Missing: (cfg: Config, regs: Registries) => buildComponent(regs, 'NECK', 'FPN', cfg),
      },
      LOSS: { l2: () => (x: F.Tensor) => F.sum(F.square(x)) },
    }),
  )

test('buildModel builds the META_ARCH the config names, which builds its parts by name', async () => {
  const cfg = right(mergeConfig(DEFAULT_CONFIG, { MODEL: { META_ARCHITECTURE: 'ToyArch', BACKBONE: { NAME: 'Scale' }, RESNETS: { DEPTH: 18 } } }))
  const model = right(buildModel<{ backbone: { channels: number; apply: (x: F.Tensor) => F.Tensor }; loss: (x: F.Tensor) => F.Tensor }>(cfg, toyRegistries()))
  assert.is(model.backbone.channels, 3)
  assert.equal(Array.from(await F.toArray(model.backbone.apply(F.tensor([1, 2])))), [18, 36])
  assert.is(await F.item(model.loss(F.tensor([3, 4]))), 25)
})

test('buildModel: unknown names and throwing factories come back as Left values', () => {
  const regs = toyRegistries()
  const withNames = (arch: string, backbone: string) => right(mergeConfig(DEFAULT_CONFIG, { MODEL: { META_ARCHITECTURE: arch, BACKBONE: { NAME: backbone } } }))
  const noArch = left(buildModel(DEFAULT_CONFIG, regs))
  assert.is(noArch.kind, 'RegistryError')
  assert.match(noArch.message, 'META_ARCH: no entry named "GeneralizedRCNN"; did you mean "ToyArch"?')
  const typo = left(buildModel(withNames('ToyArch', 'Scael'), regs))
  assert.is(typo.kind, 'RegistryError')
  assert.match(typo.message, 'BACKBONE: no entry named "Scael"; did you mean "Scale"?')
  const broken = left(buildModel(withNames('ToyArch', 'Nested'), regs))
  assert.is(broken.kind, 'BuildError')
  if (broken.kind !== 'BuildError') return
  assert.equal(broken.path, ['META_ARCH.ToyArch', 'BACKBONE.Nested', 'BACKBONE.Broken'])
  assert.match(broken.message, /^META_ARCH\.ToyArch > BACKBONE\.Nested > BACKBONE\.Broken: reshape: /)
  assert.ok(F.isFoveaError(broken.cause), 'the original FoveaError is kept as the cause')
  const missing = left(buildModel(withNames('ToyArch', 'Missing'), regs))
  assert.is(missing.message, 'NECK: no entry named "FPN"; the registry is empty')
})

test.run()
