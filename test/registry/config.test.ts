import * as E from 'fp-ts/Either'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  applyOverrides,
  DEFAULT_CONFIG,
  defaultConfig,
  detectron2Spec,
  extendSpec,
  float,
  int,
  loadConfig,
  mergeConfig,
  node,
  type ConfigError,
} from '../../registry/index.js'

const FIX = join('test', 'registry', 'fixtures')
const d2 = (f: string) => join(FIX, 'd2', f)
const mm = (f: string) => join(FIX, 'mmdet', f)

const right = <A>(e: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got Left: ${e.left.message}`)
  return e.right
}
const left = <L>(e: E.Either<L, unknown>): L => {
  if (E.isRight(e)) throw new Error('expected Left, got Right')
  return e.left
}
const configLeft = (e: E.Either<{ kind: string }, unknown>): ConfigError => {
  const err = left(e)
  assert.is(err.kind, 'ConfigError')
  return err as ConfigError
}

test('defaults carry detectron2 key names and values, and are deeply frozen', () => {
  const cfg = defaultConfig()
  assert.is(cfg, DEFAULT_CONFIG)
  assert.is(cfg.MODEL.META_ARCHITECTURE, 'GeneralizedRCNN')
  assert.equal(cfg.MODEL.PIXEL_MEAN, [103.53, 116.28, 123.675])
  assert.is(cfg.MODEL.RESNETS.DEPTH, 50)
  assert.is(cfg.MODEL.RESNETS.NORM, 'FrozenBN')
  assert.is(cfg.MODEL.RESNETS.STRIDE_IN_1X1, true)
  assert.equal(cfg.MODEL.ANCHOR_GENERATOR.SIZES, [[32, 64, 128, 256, 512]])
  assert.equal(cfg.MODEL.RPN.IOU_LABELS, [0, -1, 1])
  assert.is(cfg.MODEL.RPN.POST_NMS_TOPK_TEST, 1000)
  assert.equal(cfg.MODEL.ROI_BOX_HEAD.BBOX_REG_WEIGHTS, [10, 10, 5, 5])
  assert.is(cfg.MODEL.RETINANET.SMOOTH_L1_LOSS_BETA, 0.1)
  assert.is(cfg.MODEL.FCOS.CENTER_SAMPLE, true)
  assert.equal(cfg.INPUT.MIN_SIZE_TRAIN, [800])
  assert.is(cfg.SOLVER.WARMUP_FACTOR, 0.001)
  assert.is(cfg.SOLVER.WEIGHT_DECAY_BIAS, null)
  assert.is(cfg.OUTPUT_DIR, './output')
  assert.is(cfg.SEED, -1)
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.MODEL.RPN) && Object.isFrozen(cfg.MODEL.ANCHOR_GENERATOR.SIZES[0]))
  assert.throws(() => {
    ;(cfg.MODEL.RESNETS as { DEPTH: number }).DEPTH = 101
  }, TypeError)
  assert.is(cfg.MODEL.RESNETS.DEPTH, 50)
})

test('a detectron2 YAML chain: _BASE_ two levels up, relative paths, Python tuples', async () => {
  const loaded = right(await loadConfig(d2('sub/retinanet-ok.yaml')))
  const cfg = loaded.cfg
  assert.equal(loaded.files, [d2('Base-RCNN-FPN.yaml'), d2('faster_rcnn_R_101_FPN_3x.yaml'), d2('sub/retinanet-ok.yaml')])
  assert.is(cfg.MODEL.BACKBONE.NAME, 'build_resnet_fpn_backbone', 'from the first base')
  assert.is(cfg.MODEL.RESNETS.DEPTH, 101, 'from the middle file')
  assert.equal(cfg.MODEL.RESNETS.OUT_FEATURES, ['res2', 'res3', 'res4', 'res5'], 'merged with the middle file, not replaced')
  assert.is(cfg.MODEL.RESNETS.NORM, 'FrozenBN', 'untouched default')
  assert.is(cfg.MODEL.META_ARCHITECTURE, 'RetinaNet', 'the last file wins')
  assert.is(cfg.MODEL.RETINANET.NUM_CLASSES, 3)
  assert.is(cfg.MODEL.RETINANET.SMOOTH_L1_LOSS_BETA, 0, 'an int is a valid float')
  assert.equal(cfg.SOLVER.STEPS, [210000, 250000], '"(210000, 250000)" read as a tuple')
  assert.equal(cfg.INPUT.MIN_SIZE_TRAIN, [640, 672, 704, 736, 768, 800])
  assert.equal(cfg.DATASETS.TRAIN, ['coco_2017_train'], '("coco_2017_train",) is a one-element tuple')
  assert.equal(cfg.MODEL.ANCHOR_GENERATOR.SIZES, [[32], [64], [128], [256], [512]])
  assert.is(cfg.SOLVER.WEIGHT_DECAY_BIAS, 0)
  assert.is(cfg.MODEL.MASK_ON, false, 'YAML 1.2 reads False as a boolean')
  assert.ok(Object.isFrozen(cfg.SOLVER.STEPS) && Object.isFrozen(cfg.MODEL))
})

test('_BASE_ cycles are detected, with the loop in the message', async () => {
  const err = configLeft(await loadConfig(d2('cycle-a.yaml')))
  assert.match(err.message, /cycle-b\.yaml:1: _BASE_: base config cycle: .*cycle-a\.yaml -> .*cycle-b\.yaml -> .*cycle-a\.yaml/)
  assert.is(err.line, 1)
  const self = configLeft(await loadConfig(d2('self-cycle.yaml')))
  assert.match(self.message, /self-cycle\.yaml -> .*self-cycle\.yaml/)
})

test('a missing base names the file that asked for it and the line', async () => {
  const err = configLeft(await loadConfig(d2('missing-base.yaml')))
  assert.match(err.message, /missing-base\.yaml:2: _BASE_: cannot load base .*no-such-base\.yaml: no such file/)
  assert.is(err.line, 2)
  const none = configLeft(await loadConfig(d2('not-there.yaml')))
  assert.match(none.message, 'not-there.yaml: no such file')
})

test('unknown keys fail with the file, the key path, the line and the nearest key', async () => {
  const err = configLeft(await loadConfig(d2('unknown-key.yaml')))
  assert.is(err.file, d2('unknown-key.yaml'))
  assert.is(err.key, 'MODEL.RESNET')
  assert.is(err.line, 6)
  assert.is(err.message, `${d2('unknown-key.yaml')}:6: MODEL.RESNET: unknown key (did you mean MODEL.RESNETS?)`)
  const deep = configLeft(await loadConfig(d2('sub/retinanet.yaml')))
  assert.is(deep.key, 'MODEL.WEIGHT_DECAY_BIAS_IS_NOT_HERE')
  assert.is(deep.line, 8)
  assert.not.match(deep.message, 'did you mean', 'no far-fetched suggestion')
})

test('wrong types fail with the expected type and the line', async () => {
  const err = configLeft(await loadConfig(d2('bad-type.yaml')))
  assert.is(err.message, `${d2('bad-type.yaml')}:4: MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE: expected int, got "five hundred" (string)`)
  assert.is(err.expected, 'int')
  const item = configLeft(await loadConfig(d2('bad-list-item.yaml')))
  assert.is(item.key, 'MODEL.ANCHOR_GENERATOR.SIZES[1][1]')
  assert.is(item.line, 3)
  assert.is(item.expected, 'float')
  const choice = configLeft(await loadConfig(d2('bad-choice.yaml')))
  assert.match(choice.message, 'bad-choice.yaml:2: INPUT.RANDOM_FLIP: expected string (one of horizontal, vertical, none), got "diagonal" (string)')
  const section = configLeft(await loadConfig(d2('section-as-value.yaml')))
  assert.match(section.message, 'section-as-value.yaml:2: MODEL.RPN: is a section; expected a mapping of its keys, got 3 (int)')
  const syntax = configLeft(await loadConfig(d2('bad-syntax.yaml')))
  assert.match(syntax.message, /bad-syntax\.yaml:4: cannot parse: /)
  assert.is(syntax.line, 4)
})

test('mergeConfig checks types like a file: int vs float, nullable, lists', () => {
  assert.is(right(mergeConfig(DEFAULT_CONFIG, { SOLVER: { BASE_LR: 1 } })).SOLVER.BASE_LR, 1)
  assert.is(configLeft(mergeConfig(DEFAULT_CONFIG, { SOLVER: { MAX_ITER: 1.5 } })).message, '(object): SOLVER.MAX_ITER: expected int, got 1.5 (float)')
  assert.is(configLeft(mergeConfig(DEFAULT_CONFIG, { SOLVER: { BASE_LR: null } })).expected, 'float')
  assert.is(right(mergeConfig(DEFAULT_CONFIG, { SOLVER: { WEIGHT_DECAY_BIAS: null } })).SOLVER.WEIGHT_DECAY_BIAS, null)
  assert.is(configLeft(mergeConfig(DEFAULT_CONFIG, { SOLVER: { WEIGHT_DECAY_BIAS: 'x' } })).expected, 'float | null')
  assert.is(configLeft(mergeConfig(DEFAULT_CONFIG, { MODEL: { PIXEL_STD: 1 } })).expected, 'list<float>')
  assert.is(configLeft(mergeConfig(DEFAULT_CONFIG, { MODEL: { MASK_ON: 'yes' } }, { source: 'inline' })).message, 'inline: MODEL.MASK_ON: expected bool, got "yes" (string)')
  assert.is(configLeft(mergeConfig(DEFAULT_CONFIG, { MODEL: { RPN: { _delete_: 'please' } } })).key, 'MODEL.RPN._delete_')
})

test('mmdetection style: JS/JSON configs, _base_ as a list or a string, _delete_ replaces a section', async () => {
  const loaded = right(await loadConfig(mm('retinanet_r18.js')))
  const cfg = loaded.cfg
  assert.equal(loaded.files, [mm('base_model.json'), mm('base_schedule.js'), mm('retinanet_r18.js')])
  assert.is(cfg.MODEL.META_ARCHITECTURE, 'RetinaNet')
  assert.is(cfg.MODEL.RETINANET.NUM_CLASSES, 7)
  assert.is(cfg.MODEL.RETINANET.NUM_CONVS, 4, '_delete_ dropped the base value 2: back to the default')
  assert.is(cfg.MODEL.RETINANET.FOCAL_LOSS_GAMMA, 2.0, '_delete_ dropped the base value 1.5')
  assert.is(cfg.MODEL.RESNETS.DEPTH, 34)
  assert.is(cfg.MODEL.RESNETS.RES2_OUT_CHANNELS, 64, 'a section without _delete_ still merges')
  assert.is(cfg.SOLVER.BASE_LR, 0.005)
  assert.equal(cfg.SOLVER.STEPS, [8, 11])
  assert.is(cfg.SOLVER.CLIP_GRADIENTS.CLIP_VALUE, 35)
  assert.ok(Object.isFrozen(cfg.SOLVER.STEPS))
  const single = right(await loadConfig(mm('single_base.json'))).cfg
  assert.is(single.MODEL.RETINANET.NUM_CLASSES, 20)
  assert.is(single.SOLVER.CLIP_GRADIENTS.ENABLED, false)
  const bad = configLeft(await loadConfig(mm('bad_key.json')))
  assert.is(bad.message, `${mm('bad_key.json')}:5: MODEL.RETINANET.NUM_CLASS: unknown key (did you mean MODEL.RETINANET.NUM_CLASSES?)`)
  const notData = configLeft(await loadConfig(mm('not_data.js')))
  assert.match(notData.message, 'must be plain data')
})

test('_delete_ inside mergeConfig resets the section to its defaults first', () => {
  const base = right(mergeConfig(DEFAULT_CONFIG, { MODEL: { RPN: { NMS_THRESH: 0.5, POST_NMS_TOPK_TEST: 10 } } }))
  const merged = right(mergeConfig(base, { MODEL: { RPN: { _delete_: true, NMS_THRESH: 0.6 } } }))
  assert.is(merged.MODEL.RPN.NMS_THRESH, 0.6)
  assert.is(merged.MODEL.RPN.POST_NMS_TOPK_TEST, 1000)
  assert.is(base.MODEL.RPN.POST_NMS_TOPK_TEST, 10, 'the input config is unchanged')
  const kept = right(mergeConfig(base, { MODEL: { RPN: { _delete_: false, NMS_THRESH: 0.6 } } }))
  assert.is(kept.MODEL.RPN.POST_NMS_TOPK_TEST, 10)
})

test('overrides: KEY VALUE and KEY=VALUE, values read as YAML and type-checked', async () => {
  const loaded = right(
    await loadConfig(d2('faster_rcnn_R_101_FPN_3x.yaml'), {
      overrides: ['MODEL.WEIGHTS', '123', 'SOLVER.BASE_LR=0.0025', 'MODEL.RPN.IN_FEATURES', '[p3, p4]', 'SOLVER.STEPS=100,200', 'INPUT.MIN_SIZE_TRAIN', '(512, 640)', 'MODEL.MASK_ON=true', 'SOLVER.WEIGHT_DECAY_BIAS', 'null'],
    }),
  )
  const cfg = loaded.cfg
  assert.is(cfg.MODEL.WEIGHTS, '123', 'a string key keeps the text as typed')
  assert.is(cfg.SOLVER.BASE_LR, 0.0025)
  assert.equal(cfg.MODEL.RPN.IN_FEATURES, ['p3', 'p4'])
  assert.equal(cfg.SOLVER.STEPS, [100, 200])
  assert.equal(cfg.INPUT.MIN_SIZE_TRAIN, [512, 640])
  assert.is(cfg.MODEL.MASK_ON, true)
  assert.is(cfg.SOLVER.WEIGHT_DECAY_BIAS, null)
  assert.is(cfg.MODEL.RESNETS.DEPTH, 101, 'the file still applies')
  assert.ok(Object.isFrozen(cfg.MODEL.RPN.IN_FEATURES))
})

test('override errors: wrong type, unknown key, a section, a key without value', () => {
  const bad = configLeft(applyOverrides(DEFAULT_CONFIG, ['SOLVER.MAX_ITER=abc'], detectron2Spec))
  assert.is(bad.message, '(command line): SOLVER.MAX_ITER: expected int, got "abc" (string)')
  assert.is(bad.file, '(command line)')
  assert.is(bad.expected, 'int')
  const item = configLeft(applyOverrides(DEFAULT_CONFIG, ['SOLVER.STEPS', '[1, 2.5]'], detectron2Spec))
  assert.is(item.key, 'SOLVER.STEPS[1]')
  const typo = configLeft(applyOverrides(DEFAULT_CONFIG, ['MODEL.RPN.NMS_THRES', '0.5'], detectron2Spec))
  assert.is(typo.message, '(command line): MODEL.RPN.NMS_THRES: unknown key (did you mean MODEL.RPN.NMS_THRESH?)')
  const section = configLeft(applyOverrides(DEFAULT_CONFIG, ['MODEL.RPN=1'], detectron2Spec))
  assert.match(section.message, 'MODEL.RPN: is a section')
  const through = configLeft(applyOverrides(DEFAULT_CONFIG, ['SEED.X=1'], detectron2Spec))
  assert.match(through.message, 'SEED: is a value, not a section')
  const dangling = configLeft(applyOverrides(DEFAULT_CONFIG, ['SEED=1', 'MODEL.WEIGHTS'], detectron2Spec))
  assert.match(dangling.message, 'MODEL.WEIGHTS: has no value')
  const ok = right(applyOverrides(DEFAULT_CONFIG, ['SEED=7'], detectron2Spec))
  assert.is(ok.SEED, 7)
  assert.is(DEFAULT_CONFIG.SEED, -1, 'applyOverrides is pure')
})

test('extendSpec adds keys and refuses to redefine existing ones', () => {
  const spec = right(extendSpec(detectron2Spec, node({ MODEL: node({ TOY: node({ WIDTH: int(8) }) }) })))
  const cfg = right(mergeConfig(DEFAULT_CONFIG, { MODEL: { TOY: { WIDTH: 3 } } }, { spec })) as unknown as { MODEL: { TOY: { WIDTH: number }; RESNETS: { DEPTH: number } } }
  assert.is(cfg.MODEL.TOY.WIDTH, 3)
  assert.is(cfg.MODEL.RESNETS.DEPTH, 50)
  const clash = configLeft(extendSpec(detectron2Spec, node({ SOLVER: node({ BASE_LR: float(1) }) }), 'plugin'))
  assert.is(clash.message, 'plugin: cannot redefine existing key SOLVER.BASE_LR')
})

test.run()
