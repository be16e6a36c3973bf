/** Linear algebra: matrix products and convolutions (GEMM-based CPU kernels). */
export { linear, matmul } from './matmul.js'
export { conv2d, convTranspose2d } from './conv.js'
export type { Conv2dOptions, ConvTranspose2dOptions } from './conv.js'
