/**
 * detectron2's default config (`detectron2/config/defaults.py`), the part fovea builds: ResNet, FPN,
 * anchors, RPN, the ROI heads (box, mask, keypoint), semantic/panoptic FPN, RetinaNet, plus FCOS as
 * AdelaiDet's `MODEL.FCOS` section (core detectron2 has no yacs keys for FCOS). Key names and default
 * values are detectron2's, so its YAML files load unchanged; tuples become lists. `MODEL.DEVICE` is kept
 * for compatibility but fovea picks its backend with `setBackend`/`FOVEA_BACKEND`, not from the config.
 */
import { bool, defaultsOf, float, int, list, node, nullable, str, t, type ValueOf } from './spec.js'

const norm = (value: string) => str(value)
const poolerType = str('ROIAlignV2', ['ROIPool', 'ROIAlign', 'ROIAlignV2', 'ROIAlignRotated'])
const boxLoss = str('smooth_l1', ['smooth_l1', 'giou', 'diou', 'ciou'])
const fourFloats = (a: number, b: number, c: number, d: number) => list(t.float, [a, b, c, d])

const model = node({
  LOAD_PROPOSALS: bool(false),
  MASK_ON: bool(false),
  KEYPOINT_ON: bool(false),
  DEVICE: str('cuda'),
  META_ARCHITECTURE: str('GeneralizedRCNN'),
  WEIGHTS: str(''),
  // BGR ImageNet mean; std 1 because MSRA/Detectron1 weights folded the std into conv1.
  PIXEL_MEAN: list(t.float, [103.53, 116.28, 123.675]),
  PIXEL_STD: list(t.float, [1.0, 1.0, 1.0]),
  BACKBONE: node({ NAME: str('build_resnet_backbone'), FREEZE_AT: int(2) }),
  FPN: node({ IN_FEATURES: list(t.str, []), OUT_CHANNELS: int(256), NORM: norm(''), FUSE_TYPE: str('sum', ['sum', 'avg']) }),
  PROPOSAL_GENERATOR: node({ NAME: str('RPN'), MIN_SIZE: int(0) }),
  ANCHOR_GENERATOR: node({
    NAME: str('DefaultAnchorGenerator'),
    SIZES: list(t.list(t.float), [[32, 64, 128, 256, 512]]),
    ASPECT_RATIOS: list(t.list(t.float), [[0.5, 1.0, 2.0]]),
    ANGLES: list(t.list(t.float), [[-90, 0, 90]]),
    OFFSET: float(0.0),
  }),
  RPN: node({
    HEAD_NAME: str('StandardRPNHead'),
    IN_FEATURES: list(t.str, ['res4']),
    BOUNDARY_THRESH: int(-1),
    IOU_THRESHOLDS: list(t.float, [0.3, 0.7]),
    IOU_LABELS: list(t.int, [0, -1, 1]),
    BATCH_SIZE_PER_IMAGE: int(256),
    POSITIVE_FRACTION: float(0.5),
    BBOX_REG_LOSS_TYPE: boxLoss,
    BBOX_REG_LOSS_WEIGHT: float(1.0),
    BBOX_REG_WEIGHTS: fourFloats(1.0, 1.0, 1.0, 1.0),
    SMOOTH_L1_BETA: float(0.0),
    LOSS_WEIGHT: float(1.0),
    // Per FPN level before NMS; after NMS per level and again over the union (detectron2's meaning).
    PRE_NMS_TOPK_TRAIN: int(12000),
    PRE_NMS_TOPK_TEST: int(6000),
    POST_NMS_TOPK_TRAIN: int(2000),
    POST_NMS_TOPK_TEST: int(1000),
    NMS_THRESH: float(0.7),
    CONV_DIMS: list(t.int, [-1]),
  }),
  ROI_HEADS: node({
    NAME: str('Res5ROIHeads'),
    NUM_CLASSES: int(80),
    IN_FEATURES: list(t.str, ['res4']),
    IOU_THRESHOLDS: list(t.float, [0.5]),
    IOU_LABELS: list(t.int, [0, 1]),
    BATCH_SIZE_PER_IMAGE: int(512),
    POSITIVE_FRACTION: float(0.25),
    SCORE_THRESH_TEST: float(0.05),
    NMS_THRESH_TEST: float(0.5),
    PROPOSAL_APPEND_GT: bool(true),
  }),
  ROI_BOX_HEAD: node({
    NAME: str(''),
    BBOX_REG_LOSS_TYPE: boxLoss,
    BBOX_REG_LOSS_WEIGHT: float(1.0),
    BBOX_REG_WEIGHTS: fourFloats(10.0, 10.0, 5.0, 5.0),
    SMOOTH_L1_BETA: float(0.0),
    POOLER_RESOLUTION: int(14),
    POOLER_SAMPLING_RATIO: int(0),
    POOLER_TYPE: poolerType,
    NUM_FC: int(0),
    FC_DIM: int(1024),
    NUM_CONV: int(0),
    CONV_DIM: int(256),
    NORM: norm(''),
    CLS_AGNOSTIC_BBOX_REG: bool(false),
    TRAIN_ON_PRED_BOXES: bool(false),
    USE_SIGMOID_CE: bool(false),
    USE_FED_LOSS: bool(false),
    FED_LOSS_FREQ_WEIGHT_POWER: float(0.5),
    FED_LOSS_NUM_CLASSES: int(50),
  }),
  ROI_BOX_CASCADE_HEAD: node({
    BBOX_REG_WEIGHTS: list(t.list(t.float), [[10.0, 10.0, 5.0, 5.0], [20.0, 20.0, 10.0, 10.0], [30.0, 30.0, 15.0, 15.0]]),
    IOUS: list(t.float, [0.5, 0.6, 0.7]),
  }),
  ROI_MASK_HEAD: node({
    NAME: str('MaskRCNNConvUpsampleHead'),
    POOLER_RESOLUTION: int(14),
    POOLER_SAMPLING_RATIO: int(0),
    NUM_CONV: int(0),
    CONV_DIM: int(256),
    NORM: norm(''),
    CLS_AGNOSTIC_MASK: bool(false),
    POOLER_TYPE: poolerType,
  }),
  ROI_KEYPOINT_HEAD: node({
    NAME: str('KRCNNConvDeconvUpsampleHead'),
    POOLER_RESOLUTION: int(14),
    POOLER_SAMPLING_RATIO: int(0),
    CONV_DIMS: list(t.int, [512, 512, 512, 512, 512, 512, 512, 512]),
    NUM_KEYPOINTS: int(17),
    MIN_KEYPOINTS_PER_IMAGE: int(1),
    NORMALIZE_LOSS_BY_VISIBLE_KEYPOINTS: bool(true),
    LOSS_WEIGHT: float(1.0),
    POOLER_TYPE: poolerType,
  }),
  SEM_SEG_HEAD: node({
    NAME: str('SemSegFPNHead'),
    IN_FEATURES: list(t.str, ['p2', 'p3', 'p4', 'p5']),
    IGNORE_VALUE: int(255),
    NUM_CLASSES: int(54),
    CONVS_DIM: int(128),
    COMMON_STRIDE: int(4),
    NORM: norm('GN'),
    LOSS_WEIGHT: float(1.0),
  }),
  PANOPTIC_FPN: node({
    INSTANCE_LOSS_WEIGHT: float(1.0),
    COMBINE: node({
      ENABLED: bool(true),
      OVERLAP_THRESH: float(0.5),
      STUFF_AREA_LIMIT: int(4096),
      INSTANCES_CONFIDENCE_THRESH: float(0.5),
    }),
  }),
  RETINANET: node({
    NUM_CLASSES: int(80),
    IN_FEATURES: list(t.str, ['p3', 'p4', 'p5', 'p6', 'p7']),
    NUM_CONVS: int(4),
    IOU_THRESHOLDS: list(t.float, [0.4, 0.5]),
    IOU_LABELS: list(t.int, [0, -1, 1]),
    // Bias of the class logits starts at -log((1 - p) / p) so early training is not swamped by background.
    PRIOR_PROB: float(0.01),
    SCORE_THRESH_TEST: float(0.05),
    TOPK_CANDIDATES_TEST: int(1000),
    NMS_THRESH_TEST: float(0.5),
    BBOX_REG_WEIGHTS: fourFloats(1.0, 1.0, 1.0, 1.0),
    FOCAL_LOSS_GAMMA: float(2.0),
    FOCAL_LOSS_ALPHA: float(0.25),
    SMOOTH_L1_LOSS_BETA: float(0.1),
    BBOX_REG_LOSS_TYPE: boxLoss,
    NORM: norm(''),
  }),
  FCOS: node({
    NUM_CLASSES: int(80),
    IN_FEATURES: list(t.str, ['p3', 'p4', 'p5', 'p6', 'p7']),
    FPN_STRIDES: list(t.int, [8, 16, 32, 64, 128]),
    PRIOR_PROB: float(0.01),
    INFERENCE_TH_TRAIN: float(0.05),
    INFERENCE_TH_TEST: float(0.05),
    NMS_TH: float(0.6),
    PRE_NMS_TOPK_TRAIN: int(1000),
    PRE_NMS_TOPK_TEST: int(1000),
    POST_NMS_TOPK_TRAIN: int(100),
    POST_NMS_TOPK_TEST: int(100),
    TOP_LEVELS: int(2),
    NORM: norm('GN'),
    USE_SCALE: bool(true),
    BOX_QUALITY: str('ctrness', ['ctrness', 'iou']),
    THRESH_WITH_CTR: bool(false),
    LOSS_ALPHA: float(0.25),
    LOSS_GAMMA: float(2.0),
    LOSS_NORMALIZER_CLS: str('fg', ['fg', 'moving_fg', 'all']),
    LOSS_WEIGHT_CLS: float(1.0),
    // Object-size boundaries between FPN levels (P3 takes objects up to 64 px, …).
    SIZES_OF_INTEREST: list(t.int, [64, 128, 256, 512]),
    USE_RELU: bool(true),
    USE_DEFORMABLE: bool(false),
    NUM_CLS_CONVS: int(4),
    NUM_BOX_CONVS: int(4),
    NUM_SHARE_CONVS: int(0),
    CENTER_SAMPLE: bool(true),
    POS_RADIUS: float(1.5),
    LOC_LOSS_TYPE: str('giou', ['iou', 'linear_iou', 'giou']),
    YIELD_PROPOSAL: bool(false),
    YIELD_BOX_FEATURES: bool(false),
  }),
  RESNETS: node({
    DEPTH: int(50),
    OUT_FEATURES: list(t.str, ['res4']),
    NUM_GROUPS: int(1),
    NORM: norm('FrozenBN'),
    WIDTH_PER_GROUP: int(64),
    // True for MSRA's original ResNet (stride on the 1x1); False for torchvision/C2 weights.
    STRIDE_IN_1X1: bool(true),
    RES5_DILATION: int(1),
    RES2_OUT_CHANNELS: int(256),
    STEM_OUT_CHANNELS: int(64),
    DEFORM_ON_PER_STAGE: list(t.bool, [false, false, false, false]),
    DEFORM_MODULATED: bool(false),
    DEFORM_NUM_GROUPS: int(1),
  }),
})

const input = node({
  MIN_SIZE_TRAIN: list(t.int, [800]),
  MIN_SIZE_TRAIN_SAMPLING: str('choice', ['choice', 'range', 'range_by_clipping']),
  MAX_SIZE_TRAIN: int(1333),
  MIN_SIZE_TEST: int(800),
  MAX_SIZE_TEST: int(1333),
  RANDOM_FLIP: str('horizontal', ['horizontal', 'vertical', 'none']),
  CROP: node({
    ENABLED: bool(false),
    TYPE: str('relative_range', ['relative_range', 'relative', 'absolute', 'absolute_range']),
    SIZE: list(t.float, [0.9, 0.9]),
  }),
  FORMAT: str('BGR'),
  MASK_FORMAT: str('polygon', ['polygon', 'bitmask']),
})

const datasets = node({
  TRAIN: list(t.str, []),
  PROPOSAL_FILES_TRAIN: list(t.str, []),
  PRECOMPUTED_PROPOSAL_TOPK_TRAIN: int(2000),
  TEST: list(t.str, []),
  PROPOSAL_FILES_TEST: list(t.str, []),
  PRECOMPUTED_PROPOSAL_TOPK_TEST: int(1000),
})

const dataloader = node({
  NUM_WORKERS: int(4),
  ASPECT_RATIO_GROUPING: bool(true),
  SAMPLER_TRAIN: str('TrainingSampler'),
  REPEAT_THRESHOLD: float(0.0),
  FILTER_EMPTY_ANNOTATIONS: bool(true),
})

const solver = node({
  LR_SCHEDULER_NAME: str('WarmupMultiStepLR'),
  MAX_ITER: int(40000),
  BASE_LR: float(0.001),
  BASE_LR_END: float(0.0),
  MOMENTUM: float(0.9),
  NESTEROV: bool(false),
  WEIGHT_DECAY: float(0.0001),
  WEIGHT_DECAY_NORM: float(0.0),
  GAMMA: float(0.1),
  STEPS: list(t.int, [30000]),
  NUM_DECAYS: int(3),
  WARMUP_FACTOR: float(1.0 / 1000),
  WARMUP_ITERS: int(1000),
  WARMUP_METHOD: str('linear', ['linear', 'constant']),
  RESCALE_INTERVAL: bool(false),
  CHECKPOINT_PERIOD: int(5000),
  // Images per step over all workers (detectron2 counts across machines).
  IMS_PER_BATCH: int(16),
  REFERENCE_WORLD_SIZE: int(0),
  BIAS_LR_FACTOR: float(1.0),
  // null means "same as WEIGHT_DECAY" (detectron2 ≥ 0.6).
  WEIGHT_DECAY_BIAS: nullable(float(0)),
  CLIP_GRADIENTS: node({
    ENABLED: bool(false),
    CLIP_TYPE: str('value', ['value', 'norm', 'full_model']),
    CLIP_VALUE: float(1.0),
    NORM_TYPE: float(2.0),
  }),
  AMP: node({ ENABLED: bool(false) }),
})

const test = node({
  EXPECTED_RESULTS: list(t.any, []),
  EVAL_PERIOD: int(0),
  KEYPOINT_OKS_SIGMAS: list(t.float, []),
  DETECTIONS_PER_IMAGE: int(100),
  AUG: node({
    ENABLED: bool(false),
    MIN_SIZES: list(t.int, [400, 500, 600, 700, 800, 900, 1000, 1100, 1200]),
    MAX_SIZE: int(4000),
    FLIP: bool(true),
  }),
  PRECISE_BN: node({ ENABLED: bool(false), NUM_ITER: int(200) }),
})

/** The spec (types and defaults) of detectron2's config; extend it with `extendSpec` for new keys. */
export const detectron2Spec = node({
  VERSION: int(2),
  MODEL: model,
  INPUT: input,
  DATASETS: datasets,
  DATALOADER: dataloader,
  SOLVER: solver,
  TEST: test,
  OUTPUT_DIR: str('./output'),
  // Negative: a fresh seed per run; fixed otherwise (fovea's PRNG keys are derived from it).
  SEED: int(-1),
  CUDNN_BENCHMARK: bool(false),
  VIS_PERIOD: int(0),
})

/** A config with detectron2's keys (what `loadConfig` returns), readonly and deeply frozen. */
export type Config = ValueOf<typeof detectron2Spec>

/** detectron2's defaults as a frozen `Config` (`get_cfg()`). */
export const DEFAULT_CONFIG: Config = defaultsOf(detectron2Spec)
