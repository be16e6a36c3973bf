/**
 * A batch of differently sized images padded into one tensor, with each image's true size kept beside it
 * (detectron2 `ImageList`). Sizes are plain numbers: they are known when the batch is built, and they
 * decide shapes (static shapes, see DESIGN.md), so they never travel as tensors.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { reshape } from '../../ops/shape/basic.js'
import { pad, slice } from '../../ops/shape/slice.js'
import { stack } from '../../ops/shape/index-axis.js'
import { describeAll } from '../../ops/operand.js'

/** `tensor: T[B, ..., H, W]` padded at the bottom and right; `imageSizes[i] = [h_i, w_i]` before padding. */
export type ImageList = {
  readonly kind: 'imageList'
  readonly tensor: Tensor
  readonly imageSizes: readonly (readonly [number, number])[]
}

/** detectron2's `padding_constraints`: a square target size, or a divisibility overriding the argument. */
export type PaddingConstraints = { readonly squareSize?: number; readonly sizeDivisibility?: number }

/**
 * Pads images of shape `[..., H_i, W_i]` (equal leading dims) to a common `[H, W]` with `padValue` on
 * the bottom and right and stacks them (detectron2 `ImageList.from_tensors`). H and W are the largest
 * sizes, rounded up to a multiple of `sizeDivisibility` when it exceeds 1 (FPN backbones need 32);
 * `paddingConstraints.squareSize > 0` pads to that square first.
 * images: n × T[..., H_i, W_i] → { tensor: T[n, ..., H, W], imageSizes }
 */
export const imageListFromTensors = (
  images: readonly Tensor[],
  sizeDivisibility = 0,
  padValue = 0,
  paddingConstraints: PaddingConstraints = {},
): ImageList => {
  const op = 'imageListFromTensors'
  if (images.length === 0) fail(op, 'needs at least one image')
  const first = images[0]!
  for (const im of images) {
    if (im.shape.length < 2) fail(op, `each image must be [..., H, W], got ${describeAval(im)}`)
    const lead = im.shape.slice(0, -2)
    if (im.dtype !== first.dtype || lead.length !== first.shape.length - 2 || lead.some((d, i) => d !== first.shape[i])) {
      fail(op, `images must share dtype and leading dims (all but H, W), got ${describeAll(images)}`)
    }
  }
  const imageSizes = images.map((im) => [im.shape[im.shape.length - 2]!, im.shape[im.shape.length - 1]!] as const)
  let maxH = Math.max(...imageSizes.map((s) => s[0]))
  let maxW = Math.max(...imageSizes.map((s) => s[1]))
  const square = paddingConstraints.squareSize ?? 0
  if (square > 0) [maxH, maxW] = [square, square]
  const stride = paddingConstraints.sizeDivisibility ?? sizeDivisibility
  if (stride > 1) [maxH, maxW] = [Math.ceil(maxH / stride) * stride, Math.ceil(maxW / stride) * stride]
  const padded = images.map((im, i) => {
    const [h, w] = imageSizes[i]!
    if (h > maxH || w > maxW) fail(op, `image ${i} ${describeAval(im)} is larger than the square size ${square}`)
    return pad(im, [...im.shape.slice(0, -2).map(() => [0, 0] as const), [0, maxH - h], [0, maxW - w]], padValue)
  })
  return { kind: 'imageList', tensor: stack(padded, 0), imageSizes }
}

/** Image `i` at its original size (detectron2 `ImageList[i]`). → T[..., h_i, w_i] */
export const imageListImage = (list: ImageList, i: number): Tensor => {
  if (!Number.isInteger(i) || i < 0 || i >= list.imageSizes.length) {
    fail('imageListImage', `index ${i} is out of range for an image list of ${list.imageSizes.length} images ${describeAval(list.tensor)}`)
  }
  const [h, w] = list.imageSizes[i]!
  const shape = list.tensor.shape
  const lead = shape.slice(1, -2)
  const sliced = slice(list.tensor, [i, ...lead.map(() => 0), 0, 0], [i + 1, ...lead, h, w])
  return reshape(sliced, sliced.shape.slice(1))
}
