/**
 * Initializers: pure functions of a PRNG key and a shape (`(key, shape) → tensor`), never of global
 * state. Fans follow PyTorch's `_calculate_fan_in_and_fan_out`: for a weight [O, I, ...k],
 * fan_in = I·∏k and fan_out = O·∏k (a transposed-conv weight [Cin, Cout/g, kh, kw] therefore gets
 * fan_in = Cout/g·kh·kw, as in PyTorch).
 */
import { fail } from '../../core/errors.js'
import type { Shape } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { full } from '../../ops/creation.js'
import { mul } from '../../ops/elementwise/index.js'
import * as random from '../../ops/random/index.js'

/** A pure initializer: the same key and shape always give the same tensor. */
export type Initializer = (key: Tensor, shape: Shape) => Tensor

/** `{ fanIn, fanOut }` of a weight shape as PyTorch computes them (rank ≥ 2). */
export const fans = (shape: Shape): { readonly fanIn: number; readonly fanOut: number } => {
  if (shape.length < 2) fail('fans', `needs a weight of rank ≥ 2 ([out, in, ...kernel]), got [${shape.join(',')}]`)
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1)
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive }
}

/** Every element `value`. */
export const constant = (value: number): Initializer => (_key, shape) => full(shape, value)

/** Zeros (biases, BatchNorm shift). */
export const zerosInit: Initializer = constant(0)

/** Ones (BatchNorm/GroupNorm scale). */
export const onesInit: Initializer = constant(1)

/** N(0, std²): detectron2 heads use `normal(0.01)` for classifiers and `normal(0.001)` for box deltas. */
export const normal = (std: number): Initializer => (key, shape) => mul(random.normal(key, shape), std)

/** U[-bound, bound). */
export const uniformInit = (bound: number): Initializer => (key, shape) => random.uniform(key, shape, -bound, bound)

/**
 * PyTorch's `kaiming_uniform_(w, a, mode)` for a leaky-relu gain: bound = gain·√(3 / fan), with
 * gain = √(2 / (1 + a²)).
 */
export const kaimingUniform = (a = 0, mode: 'fanIn' | 'fanOut' = 'fanIn'): Initializer => (key, shape) => {
  const gain = Math.sqrt(2 / (1 + a * a))
  return random.uniform(key, shape, ...symmetric(gain * Math.sqrt(3 / fans(shape)[mode])))
}

/** PyTorch's `kaiming_normal_(w, a, mode)`: std = gain / √fan, gain = √(2 / (1 + a²)). */
export const kaimingNormal = (a = 0, mode: 'fanIn' | 'fanOut' = 'fanIn'): Initializer => (key, shape) => {
  const gain = Math.sqrt(2 / (1 + a * a))
  return mul(random.normal(key, shape), gain / Math.sqrt(fans(shape)[mode]))
}

const symmetric = (bound: number): [number, number] => [-bound, bound]

/**
 * detectron2's `c2_msra_fill` (Caffe2's MSRAFill): Kaiming normal with fan_out and the ReLU gain,
 * std = √(2 / fan_out). detectron2 sets the bias to 0 with it; a layer given an explicit weight
 * initializer does the same unless told otherwise.
 */
export const c2MsraFill: Initializer = kaimingNormal(0, 'fanOut')

/**
 * detectron2's `c2_xavier_fill` (Caffe2's XavierFill): `kaiming_uniform_(w, a=1)`, i.e. U(±√(3 / fan_in)).
 * Despite the name this is not Glorot's (fan_in + fan_out) rule. Bias 0, as with `c2MsraFill`.
 */
export const c2XavierFill: Initializer = kaimingUniform(1, 'fanIn')

/**
 * PyTorch's default `nn.Linear`/`nn.Conv2d` weight init, `kaiming_uniform_(w, a=√5)`: U(±1/√fan_in).
 */
export const torchDefaultWeight: Initializer = kaimingUniform(Math.sqrt(5), 'fanIn')

/**
 * PyTorch's default bias for a layer with weight shape `weightShape`: U(±1/√fan_in), fan_in taken from
 * the weight (so it is not a plain function of the bias shape).
 */
export const torchDefaultBias = (weightShape: Shape): Initializer => {
  const { fanIn } = fans(weightShape)
  return fanIn > 0 ? uniformInit(1 / Math.sqrt(fanIn)) : zerosInit
}

/** Options shared by layers with a weight and an optional bias. */
export type WeightInitOptions = {
  /** Weight initializer; default PyTorch's (`torchDefaultWeight`). */
  readonly weightInit?: Initializer
  /** Bias initializer; default 0 when `weightInit` is given (detectron2's fills), else PyTorch's. */
  readonly biasInit?: Initializer
}

/** The `{ weight, bias? }` record of a layer: the key is split once, weight then bias. */
export const weightAndBias = (key: Tensor, weightShape: Shape, biasShape: Shape | null, options: WeightInitOptions): { weight: Tensor; bias?: Tensor } => {
  const [kw, kb] = random.splitKeys(key, 2) as [Tensor, Tensor]
  const weight = (options.weightInit ?? torchDefaultWeight)(kw, weightShape)
  if (biasShape === null) return { weight }
  const biasInit = options.biasInit ?? (options.weightInit !== undefined ? zerosInit : torchDefaultBias(weightShape))
  return { weight, bias: biasInit(kb, biasShape) }
}
