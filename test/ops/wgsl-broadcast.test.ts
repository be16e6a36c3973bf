/**
 * The operand indexings of WebGPU elementwise kernels (ops/wgsl/broadcast.ts): which broadcasts get a
 * baked-in load and which take the general axis walk, and the words each carries.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { flatIndexings, indexExpr, operandIndexing } from '../../ops/wgsl/broadcast.js'

test('operandIndexing: full, one, tail and block runs; the axis walk otherwise', () => {
  assert.equal(operandIndexing([6, 10], [6, 10]), { kind: 'full', inner: 1, extent: 60 })
  assert.equal(operandIndexing([1, 10], [10]), { kind: 'full', inner: 1, extent: 10 })
  assert.equal(operandIndexing([], [6, 10]), { kind: 'one', inner: 1, extent: 1 })
  assert.equal(operandIndexing([10], [6, 10]), { kind: 'tail', inner: 1, extent: 10 })
  assert.equal(operandIndexing([64, 1, 1], [1, 64, 56, 56]), { kind: 'block', inner: 3136, extent: 64 })
  assert.equal(operandIndexing([6, 1], [6, 10]), { kind: 'block', inner: 10, extent: 6 })
  // A size-1 output axis inside the run does not break it.
  assert.equal(operandIndexing([2, 1, 3, 1], [4, 2, 1, 3, 5]), { kind: 'block', inner: 5, extent: 6 })
  assert.is(operandIndexing([3, 1, 5], [3, 4, 5]), undefined)
  assert.is(flatIndexings([[3, 4, 5], [3, 1, 5]], [3, 4, 5]), undefined)
  assert.equal(flatIndexings([[3, 4, 5], [5]], [3, 4, 5])!.map((x) => x.kind), ['full', 'tail'])
})

test('indexExpr: each kind reads its own words (inner, extent at 1 + 2k)', () => {
  assert.is(indexExpr({ kind: 'full', inner: 1, extent: 8 }, 0, 'i'), 'i')
  assert.is(indexExpr({ kind: 'one', inner: 1, extent: 1 }, 1, 'i'), '0u')
  assert.is(indexExpr({ kind: 'tail', inner: 1, extent: 8 }, 1, 'i'), 'i % u(4u)')
  assert.is(indexExpr({ kind: 'block', inner: 9, extent: 8 }, 2, 'i'), '(i / u(5u)) % u(6u)')
})

test.run()
