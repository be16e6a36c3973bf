// A small ResNet in detectron2's layout (stem, res2, res3 of bottleneck blocks, a classifier head),
// built only from models/nn combinators; the golden param-shape test and the freeze tests use it.
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'

const { nn } = F

/** detectron2's BottleneckBlock: 1x1 (stride) → 3x3 → 1x1, projection shortcut when shapes change. */
const bottleneck = (cin: number, mid: number, cout: number, stride: number, norm: F.nn.NormSpec): F.nn.Layer => {
  const children: Record<string, F.nn.Layer> = {
    conv1: nn.conv2d({ inChannels: cin, outChannels: mid, kernelSize: 1, stride, norm, activation: F.relu, weightInit: nn.c2MsraFill }),
    conv2: nn.conv2d({ outChannels: mid, kernelSize: 3, padding: 1, norm, activation: F.relu, weightInit: nn.c2MsraFill }),
    conv3: nn.conv2d({ outChannels: cout, kernelSize: 1, norm, weightInit: nn.c2MsraFill }),
  }
  const project = cin !== cout || stride !== 1
  if (project) children.shortcut = nn.conv2d({ outChannels: cout, kernelSize: 1, stride, norm, weightInit: nn.c2MsraFill })
  return nn.named(children, (call, x: Tensor) => {
    const out = call('conv3', call('conv2', call('conv1', x)))
    return F.relu(F.add(out as Tensor, (project ? call('shortcut', x) : x) as Tensor))
  })
}

/** stem (FrozenBN) → res2 (2 blocks, FrozenBN) → res3 (2 blocks, stride 2, BN) → head.fc. */
export const tinyResNet = (classes = 10): F.nn.Layer =>
  nn.named({
    stem: nn.named({ conv1: nn.conv2d({ outChannels: 8, kernelSize: 7, stride: 2, padding: 3, norm: 'FrozenBN', activation: F.relu }) }, (call, x) =>
      F.maxPool2d(call('conv1', x) as Tensor, { kernelSize: 3, stride: 2, padding: 1 })),
    res2: nn.repeat(2, (i) => bottleneck(i === 0 ? 8 : 16, 4, 16, 1, 'FrozenBN')),
    res3: nn.repeat(2, (i) => bottleneck(i === 0 ? 16 : 32, 8, 32, i === 0 ? 2 : 1, 'BN')),
    head: nn.named({ pool: nn.adaptiveAvgPool2d(1), flatten: nn.flatten(), fc: nn.linear({ outFeatures: classes, weightInit: nn.normal(0.01) }) }),
  })
