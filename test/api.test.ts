/**
 * The public API v0 (DESIGN.md) is exported from the package root under its documented names.
 * `jit` arrives with its own issue and the detection family with the detection issue.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../index.js'

const functions = `tensor zeros ones full arange eye linspace toArray toNested item setBackend getBackend backendInfo
  grad valueAndGrad vjp jvp vmap stopGradient customVjp treeMap treeLeaves treeFlatten treeUnflatten treeStructure
  add sub mul div neg abs sign exp log log1p expm1 sqrt rsqrt square pow maximum minimum clip floor ceil round sin cos
  tanh sigmoid relu gelu silu softplus erf where equal notEqual less lessEqual greater greaterEqual logicalAnd logicalOr
  logicalNot isNan isFinite cast sum mean max min prod argmax argmin logsumexp variance all any cumsum matmul softmax
  logSoftmax oneHot conv2d convTranspose2d maxPool2d avgPool2d adaptiveAvgPool2d interpolate reshape transpose
  broadcastTo expandDims squeeze concat stack split slice pad flip take takeAlongAxis gather scatterAdd nonzero tile
  repeat sort argsort topk isFoveaError`.split(/\s+/)

const randomFunctions = 'key split foldIn normal uniform bernoulli permutation'.split(' ')

test('every API v0 function is exported from the root', () => {
  const missing = functions.filter((name) => typeof (F as Record<string, unknown>)[name] !== 'function')
  assert.equal(missing, [], `missing: ${missing.join(', ')}`)
  const missingRandom = randomFunctions.filter((name) => typeof (F.random as Record<string, unknown>)[name] !== 'function')
  assert.equal(missingRandom, [], `missing random.${missingRandom.join(', random.')}`)
})

test('the cpu backend is the default; asking for webgpu either gets it or fails with the reason', async () => {
  assert.is(F.getBackend(), 'cpu')
  assert.is(F.backendInfo().backend, 'cpu')
  let error: unknown
  await F.setBackend('webgpu').catch((e) => (error = e))
  if (error === undefined) {
    assert.is(F.getBackend(), 'webgpu')
    assert.ok(F.backendInfo().adapter.length > 0, 'backendInfo names the adapter')
  } else {
    assert.ok(F.isFoveaError(error) && /webgpu is not available/.test((error as Error).message), String(error))
    assert.is(F.getBackend(), 'cpu')
  }
  await F.setBackend('cpu')
  assert.is(F.getBackend(), 'cpu')
})

test.run()
