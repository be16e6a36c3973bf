/**
 * detectron2's default optimizer parameter groups on a tree with detectron2-style names, and their
 * composition with the optimizer chains.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose, throwsFovea } from '../util/check.js'

const T = F.train

/** A slice of a detectron2 R-CNN's param tree (names as in model.state_dict()). */
const params = () => ({
  backbone: {
    bottom_up: {
      stem: { conv1: { weight: F.ones([2, 1, 1, 1]), norm: { weight: F.ones([2]), bias: F.ones([2]) } } },
      res2: [{ conv1: { weight: F.ones([2, 2, 1, 1]), norm: { weight: F.ones([2]), bias: F.ones([2]) } } }],
    },
    fpn_lateral2: { weight: F.ones([2, 2, 1, 1]), bias: F.ones([2]) },
  },
  roi_heads: { box_predictor: { cls_score: { weight: F.ones([3, 2]), bias: F.ones([3]) } } },
})

test('isNormParam recognises norm modules by the naming conventions in use', () => {
  const norms = [
    'backbone.bottom_up.res2.0.conv1.norm.weight', 'backbone.bottom_up.stem.conv1.norm.bias', 'backbone.fpn_lateral2.norm.weight',
    'layer1.0.bn1.weight', 'bn1.bias', 'neck.lateral_convs.0.gn.weight', 'blocks.0.norm1.weight',
    'encoder.layer.0.output.LayerNorm.bias', 'h.0.ln_1.weight', 'roi_heads.mask_head.mask_fcn1.norm.weight', 'head.conv_bn.weight',
  ]
  const others = [
    'backbone.bottom_up.res2.0.conv1.weight', 'roi_heads.box_head.fc1.bias', 'proposal_generator.rpn_head.conv.weight',
    'normalizer.weight', 'abnormal.weight', 'bias', 'in.weight',
  ]
  assert.equal(norms.filter((n) => !T.isNormParam(n)), [])
  assert.equal(others.filter((n) => T.isNormParam(n)), [])
})

test('detectron2 defaults: norms get WEIGHT_DECAY_NORM (0), biases decay like weights, factor 1', () => {
  const table = T.describeParamGroups(params(), T.defaultParamGroups({ weightDecay: 1e-4 }))
  assert.equal(table, [
    { name: 'backbone.bottom_up.res2.0.conv1.norm.bias', weightDecay: 0, lrFactor: 1 },
    { name: 'backbone.bottom_up.res2.0.conv1.norm.weight', weightDecay: 0, lrFactor: 1 },
    { name: 'backbone.bottom_up.res2.0.conv1.weight', weightDecay: 1e-4, lrFactor: 1 },
    { name: 'backbone.bottom_up.stem.conv1.norm.bias', weightDecay: 0, lrFactor: 1 },
    { name: 'backbone.bottom_up.stem.conv1.norm.weight', weightDecay: 0, lrFactor: 1 },
    { name: 'backbone.bottom_up.stem.conv1.weight', weightDecay: 1e-4, lrFactor: 1 },
    { name: 'backbone.fpn_lateral2.bias', weightDecay: 1e-4, lrFactor: 1 },
    { name: 'backbone.fpn_lateral2.weight', weightDecay: 1e-4, lrFactor: 1 },
    { name: 'roi_heads.box_predictor.cls_score.bias', weightDecay: 1e-4, lrFactor: 1 },
    { name: 'roi_heads.box_predictor.cls_score.weight', weightDecay: 1e-4, lrFactor: 1 },
  ])
})

test('bias settings override the norm setting (detectron2 applies overrides last)', () => {
  const g = T.defaultParamGroups({ weightDecay: 1e-4, weightDecayNorm: 0, weightDecayBias: 1e-5, biasLrFactor: 2 })
  assert.equal(g.groupOf('backbone.bottom_up.res2.0.conv1.norm.bias'), { weightDecay: 1e-5, lrFactor: 2 })
  assert.equal(g.groupOf('backbone.bottom_up.res2.0.conv1.norm.weight'), { weightDecay: 0, lrFactor: 1 })
  assert.equal(g.groupOf('roi_heads.box_predictor.cls_score.bias'), { weightDecay: 1e-5, lrFactor: 2 })
  assert.equal(g.groupOf('roi_heads.box_predictor.cls_score.weight'), { weightDecay: 1e-4, lrFactor: 1 })
  const keepNorm = T.defaultParamGroups({ weightDecay: 1e-4, weightDecayNorm: null })
  assert.is(keepNorm.weightDecay('backbone.fpn_lateral2.norm.weight'), 1e-4)
})

test('lrFactorOf, overrides by parameter name, a custom isNorm, and conflicting bias overrides', () => {
  const g = T.defaultParamGroups({
    weightDecay: 0.05,
    lrFactorOf: (name) => (name.startsWith('backbone.') ? 0.1 : 1),
    overrides: { pos_embed: { weightDecay: 0 }, bias: { lrFactor: 3 } },
    isNorm: (name) => name.includes('.ln.'),
  })
  assert.equal(g.groupOf('backbone.net.pos_embed'), { weightDecay: 0, lrFactor: 0.1 })
  assert.equal(g.groupOf('backbone.net.blocks.0.ln.weight'), { weightDecay: 0, lrFactor: 0.1 })
  assert.equal(g.groupOf('backbone.net.blocks.0.norm.weight'), { weightDecay: 0.05, lrFactor: 0.1 })
  assert.equal(g.groupOf('backbone.net.blocks.0.attn.qkv.bias'), { weightDecay: 0.05, lrFactor: 3 })
  throwsFovea(() => T.defaultParamGroups({ weightDecay: 0, biasLrFactor: 2, overrides: { bias: {} } }), 'defaultParamGroups', "conflicting overrides for 'bias'")
})

test('groups compose with the chains: decay only where the group says, bias steps scaled by the factor', async () => {
  const g = T.defaultParamGroups({ weightDecay: 0.5, biasLrFactor: 2, weightDecayBias: 0 })
  const p = params()
  const zeroGrads = F.treeMap((x: Tensor) => F.zeros(x.shape), p)
  const opt = T.sgd({ lr: 0.1, weightDecay: g.weightDecay, lrFactor: g.lrFactor })
  const [u] = opt.update(zeroGrads, opt.init(p), p)
  const byName = Object.fromEntries(await Promise.all(F.treeFlattenNamed(u).map(async ([n, t]) => [n, Array.from(await F.toArray(t as Tensor))[0]!])))
  assertClose([byName['backbone.bottom_up.res2.0.conv1.weight']!], [-0.05], { rtol: 1e-6 }, 'conv weight decays')
  assert.is(byName['backbone.bottom_up.res2.0.conv1.norm.weight'], 0)
  assert.is(byName['backbone.fpn_lateral2.bias'], 0)
  const [v] = opt.update(F.treeMap((x: Tensor) => F.ones(x.shape), p), opt.init(p), p)
  const vs = Object.fromEntries(await Promise.all(F.treeFlattenNamed(v).map(async ([n, t]) => [n, Array.from(await F.toArray(t as Tensor))[0]!])))
  assertClose([vs['roi_heads.box_predictor.cls_score.bias']!, vs['backbone.bottom_up.stem.conv1.norm.weight']!], [-0.2, -0.1], { rtol: 1e-6 }, 'bias lr ×2, norm ×1')
})

test.run()
