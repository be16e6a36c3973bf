/**
 * The jit pass `fuseConvEpilogues` (ops/linalg/conv-epilogue.ts): which programs it rewrites (golden IR),
 * which it must leave alone, and that a rewritten program computes exactly what the unjitted ops do on
 * the CPU reference (the epilogue is the fused chain's own loop after the same convolution kernel).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose, randn } from '../util/check.js'

const x = () => randn([2, 4, 6, 6], 1)
const w = () => randn([8, 4, 3, 3], 2, 0.3)
const b = () => randn([8], 3)
const conv = (x: Tensor, w: Tensor) => F.conv2d(x, w, { padding: 1 })
const bias = (b: Tensor) => F.reshape(b, [1, 8, 1, 1])

test('golden IR: conv2d → +bias → relu becomes one conv2dEpilogue', () => {
  const f = F.jit((x: Tensor, w: Tensor, b: Tensor) => F.relu(F.add(conv(x, w), bias(b))))
  assert.is(f.lower(x(), w(), b()).text, [
    'in a:f32[2,4,6,6] b:f32[8,4,3,3] c:f32[8]',
    'd:f32[1,8,1,1] = reshape[shape=[1,8,1,1]] c',
    'e:f32[2,8,6,6] = conv2dEpilogue[chain=t0=add(x0,x1) t1=relu(t0) -> t1 convInput=0 dilation=[1,1] groups=1 padding=[1,1,1,1] stride=[1,1]] a b d',
    'out e',
  ].join('\n'))
})

test('a lone elementwise op is absorbed too: conv2d → +bias', () => {
  const f = F.jit((x: Tensor, w: Tensor, b: Tensor) => F.add(conv(x, w), bias(b)))
  assert.ok(f.lower(x(), w(), b()).text.includes('conv2dEpilogue[chain=t0=add(x0,x1) -> t0'), f.lower(x(), w(), b()).text)
})

test('left alone: a conv output read twice, a depthwise conv, an operand that needs the axis walk', () => {
  const twice = F.jit((x: Tensor, w: Tensor, b: Tensor) => {
    const y = conv(x, w)
    return [F.relu(F.add(y, bias(b))), y]
  })
  assert.not.ok(twice.lower(x(), w(), b()).text.includes('conv2dEpilogue'))
  const depthwise = F.jit((x: Tensor, w: Tensor) => F.relu(F.add(F.conv2d(x, w, { padding: 1, groups: 4 }), 1)))
  assert.not.ok(depthwise.lower(x(), randn([4, 1, 3, 3], 4)).text.includes('conv2dEpilogue'))
  // [2,1,1,6] in [2,8,6,6] is neither a full, single, trailing nor inner-run operand.
  const walk = F.jit((x: Tensor, w: Tensor, r: Tensor) => F.relu(F.add(conv(x, w), r)))
  const text = walk.lower(x(), w(), randn([2, 1, 1, 6], 5)).text
  assert.not.ok(text.includes('conv2dEpilogue'))
  assert.ok(text.includes('conv2d['), text)
})

test('residual blocks, several chain outputs and a bool output compute what the plain ops do', async () => {
  const r = () => randn([2, 8, 6, 6], 6)
  const block = (x: Tensor, w: Tensor, b: Tensor, r: Tensor) => {
    const z = F.add(F.add(conv(x, w), bias(b)), r)
    return [F.relu(z), z, F.greater(z, 0)]
  }
  const jitted = F.jit(block)
  assert.ok(jitted.lower(x(), w(), b(), r()).text.includes('conv2dEpilogue'))
  const got = jitted(x(), w(), b(), r())
  const want = block(x(), w(), b(), r())
  for (let i = 0; i < want.length; i++) {
    assert.is(got[i]!.dtype, want[i]!.dtype)
    assertClose(await F.toArray(got[i]!), await F.toArray(want[i]!), { rtol: 0, atol: 0 }, `output ${i}`)
  }
})

test('a jitted training step of a conv net takes epilogues and matches the unjitted gradients exactly', async () => {
  type P = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor }
  const loss = (p: P, x: Tensor) => {
    const h = F.relu(F.add(conv(x, p.w1), F.reshape(p.b1, [1, 8, 1, 1])))
    const y = F.add(F.conv2d(h, p.w2, { stride: 2 }), F.reshape(p.b2, [1, 3, 1, 1]))
    return F.mean(F.square(y))
  }
  const p: P = { w1: w(), b1: b(), w2: randn([3, 8, 2, 2], 7, 0.3), b2: randn([3], 8) }
  const step = F.valueAndGrad(loss)
  const jitted = F.jit(step)
  assert.ok(jitted.lower(p, x()).text.includes('conv2dEpilogue'))
  const [l1, g1] = jitted(p, x())
  const [l2, g2] = step(p, x())
  assertClose(await F.toArray(l1), await F.toArray(l2), { rtol: 0, atol: 0 }, 'loss')
  for (const k of ['w1', 'b1', 'w2', 'b2'] as const) assertClose(await F.toArray(g1[k]), await F.toArray(g2[k]), { rtol: 0, atol: 0 }, k)
})

test.run()
