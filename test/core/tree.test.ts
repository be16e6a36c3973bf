import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { throwsFovea } from '../util/check.js'

test('flatten visits object keys in sorted order and rebuilds the same tree', () => {
  const a = F.zeros([1])
  const b = F.ones([2])
  const tree = { z: [a, { y: b }], a: 3, n: null }
  const [leaves, def] = F.treeFlatten(tree)
  assert.equal(leaves, [3, a, b])
  const rebuilt = F.treeUnflatten(def, leaves) as typeof tree
  assert.is(rebuilt.z[0], a)
  assert.is((rebuilt.z[1] as { y: unknown }).y, b)
  assert.is(rebuilt.n, null)
  assert.equal(F.treeLeaves({ b: 1, a: 2 }), [2, 1])
})

test('tensors are leaves, not objects to recurse into', () => {
  const t = F.tensor([1, 2])
  assert.equal(F.treeLeaves([t, { t }]).length, 2)
  assert.is(F.treeStructure(t).kind, 'leaf')
})

test('treeMap maps several trees of the same structure', () => {
  const out = F.treeMap((x: number, y: number) => x + y, { a: 1, b: [2, 3] }, { a: 10, b: [20, 30] })
  assert.equal(out, { a: 11, b: [22, 33] })
})

test('treeMap and treeUnflatten reject mismatched structures', () => {
  throwsFovea(() => F.treeMap((x: number, y: number) => x + y, { a: 1 }, { b: 1 }), 'treeMap', 'structure')
  throwsFovea(() => F.treeUnflatten(F.treeStructure([1, 2]), [1]), 'treeUnflatten', '2 leaves')
})

test('named flattening gives PyTorch dotted paths and round-trips', () => {
  const w = F.zeros([2])
  const b = F.ones([2])
  const tree = { res2: [{ conv1: { weight: w } }, { conv1: { weight: b } }], fc: { bias: b } }
  const named = F.treeFlattenNamed(tree)
  assert.equal(named.map(([n]) => n), ['fc.bias', 'res2.0.conv1.weight', 'res2.1.conv1.weight'])
  const rebuilt = F.treeUnflattenNamed(tree, new Map(named))
  assert.is(rebuilt.res2[1]!.conv1.weight, b)
  throwsFovea(() => F.treeUnflattenNamed(tree, { 'fc.bias': b }), 'treeUnflattenNamed', 'missing 2 leaves', 'res2.0.conv1.weight')
})

test.run()
