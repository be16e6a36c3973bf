import { test } from 'uvu'
import * as F from '../../index.js'
import * as assert from 'uvu/assert'
import { collapseWalk } from '../../ops/wgsl/prelude.js'
import { randn } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('layout')

test('collapseWalk drops size-1 axes and merges axes that every operand walks as one', () => {
  // NCHW -> NHWC of one image [1,2,3,4] (strides of the view: [24, 4, 1, 12]) is a 2-D transpose.
  assert.equal(collapseWalk([1, 3, 4, 2], [[24, 4, 1, 12]]), { shape: [12, 2], strides: [[1, 12]] })
  // Whole rows of a [10, 8] slice: one contiguous run; every-other row: two axes.
  assert.equal(collapseWalk([3, 8], [[8, 1]]), { shape: [24], strides: [[1]] })
  assert.equal(collapseWalk([3, 8], [[16, 1]]), { shape: [3, 8], strides: [[16, 1]] })
  // Broadcast axes (stride 0) merge with each other, not with a real axis.
  assert.equal(collapseWalk([2, 5, 3, 4], [[12, 0, 4, 1]]), { shape: [2, 5, 12], strides: [[12, 0, 1]] })
  assert.equal(collapseWalk([5, 6], [[0, 0]]), { shape: [30], strides: [[0]] })
  // Two operands: axes merge only where both allow it ([N,1,W] beside a full [N,H,W]).
  assert.equal(collapseWalk([2, 3, 4, 5], [[60, 20, 5, 1], [20, 0, 5, 1]]), { shape: [2, 3, 20], strides: [[60, 20, 1], [20, 0, 1]] })
  // A single element walks nothing.
  assert.equal(collapseWalk([1, 1], [[3, 1]]), { shape: [], strides: [[]] })
})

if (run) {
  test('reshape, broadcastTo and transpose (incl. rank 5 and zero-size)', async () => {
    await expectParity(() => {
      const x = randn([2, 3, 4], 1)
      return [F.reshape(x, [4, 6]), F.broadcastTo(F.reshape(x, [2, 1, 3, 4]), [2, 5, 3, 4]), F.transpose(x), F.transpose(x, [1, 0, 2])]
    })
    await expectParity(() => F.transpose(randn([2, 3, 1, 4, 5], 2), [4, 2, 0, 3, 1]))
    await expectParity(() => F.transpose(F.zeros([0, 3])))
    // Walks that collapse to ranks 0 to 3: NCHW -> NHWC, a batch of them, a one-element tensor, int32.
    await expectParity(() => {
      const x = randn([1, 6, 5, 7], 6)
      const b = randn([3, 4, 2, 5], 7)
      return [F.transpose(x, [0, 2, 3, 1]), F.transpose(b, [0, 2, 3, 1]), F.transpose(randn([1, 1], 8)), F.transpose(F.reshape(F.arange(24), [2, 3, 4]), [2, 0, 1])]
    })
  })

  test('slice (strided), pad (edge and interior), concat; int32 and bool', async () => {
    await expectParity(() => {
      const x = randn([5, 7], 3)
      return [F.slice(x, [1, 0], [5, 7], [2, 3]), F.pad(x, [[1, 2], [0, 3]], 1.5), F.concat([x, F.mul(x, 2)], 1), F.concat([x, x, x], 0)]
    })
    await expectParity(() => {
      const i = F.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' })
      return [F.pad(i, [[0, 1], [2, 0]], 7), F.concat([F.less(i, 3), F.greater(i, 4)], 0), F.slice(i, [0, 1])]
    })
  })

  test('sum over every axis form, long and short rows, int32', async () => {
    await expectParity(() => {
      const x = randn([6, 300, 5], 4)
      return [F.sum(x), F.sum(x, 0), F.sum(x, 1), F.sum(x, 2), F.sum(x, [0, 2]), F.sum(x, -1, true)]
    }, { rtol: 1e-5, atol: 1e-4 })
    await expectParity(() => F.sum(F.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' }), 1))
    await expectParity(() => F.sum(F.zeros([0, 4]), 0))
  })

  test('gradients computed on webgpu equal those on cpu (elementwise, broadcast, sum)', async () => {
    await expectParity(() => {
      const w = randn([3, 4], 5)
      const x = randn([4], 6)
      return F.grad((p: F.Tensor) => F.sum(F.tanh(F.add(F.mul(p, x), 0.1))))(w)
    })
  })
}

test.run()
