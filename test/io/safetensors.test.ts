import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { gpuAvailable } from '../webgpu/gpu.js'
import { expectFixtureTensors, fixture, left, right, scratch } from './helpers.js'

/** A safetensors file from a header object and data bytes, exactly as given (for damaged files). */
const rawSafetensors = (header: unknown, data: Uint8Array, headerText = JSON.stringify(header)): Buffer => {
  const json = Buffer.from(headerText, 'utf8')
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(BigInt(json.length))
  return Buffer.concat([prefix, json, data])
}

const write = (bytes: Uint8Array, name = 'x.safetensors'): string => {
  const path = join(scratch(), name)
  writeFileSync(path, bytes)
  return path
}

const sample = () => ({
  backbone: { stem: { conv1: { weight: F.tensor([[1.5, -2], [0.25, 3e-8]]) } } },
  res2: [{ count: F.tensor([7, -8, 2 ** 31 - 1], { dtype: 'int32' }) }],
  mask: F.tensor([true, false, true]),
  scalar: F.tensor(3.5),
  empty: F.zeros([0, 3]),
})

test('round trip of a param tree: dotted names, f32/i32/bool, rank 0, zero-size, metadata', async () => {
  const path = join(scratch(), 'model.safetensors')
  const saved = right(await F.io.saveSafetensors(path, sample(), { format: 'pt', note: 'ünïcode ok' }))
  assert.is(saved.tensors, 5)
  assert.is(saved.bytes, readFileSync(path).length)
  const ckpt = right(await F.io.loadSafetensors(path))
  assert.is(ckpt.format, 'safetensors')
  assert.equal(ckpt.metadata, { format: 'pt', note: 'ünïcode ok' })
  assert.equal(ckpt.conversions, [])
  const names = F.treeFlattenNamed(sample()).map(([n]) => n)
  assert.equal([...ckpt.tensors.keys()].sort(), [...names].sort())
  for (const [name, t] of F.treeFlattenNamed(sample()) as [string, Tensor][]) {
    const back = ckpt.tensors.get(name)!
    assert.is(back.dtype, t.dtype, name)
    assert.equal([...back.shape], [...t.shape], name)
    assert.equal(Array.from(await F.toArray(back)), Array.from(await F.toArray(t)), name)
  }
  // Rebuilds the same tree by name.
  const tree = F.treeUnflattenNamed(sample(), ckpt.tensors)
  assert.equal(await F.toNested(tree.res2[0]!.count), [7, -8, 2 ** 31 - 1])
})

test('the written layout follows the format: 8-aligned header, tensors tile the data, bool last', async () => {
  const path = join(scratch(), 'layout.safetensors')
  right(await F.io.saveSafetensors(path, new Map<string, Tensor>([['m', F.tensor([true])], ['w', F.ones([3])], ['i', F.tensor([1], { dtype: 'int32' })]])))
  const bytes = readFileSync(path)
  const n = Number(bytes.readBigUInt64LE(0))
  assert.is(n % 8, 0)
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'))
  assert.equal(header.w, { dtype: 'F32', shape: [3], data_offsets: [0, 12] })
  assert.equal(header.i, { dtype: 'I32', shape: [1], data_offsets: [12, 16] })
  assert.equal(header.m, { dtype: 'BOOL', shape: [1], data_offsets: [16, 17] })
  assert.is(header.__metadata__, undefined)
  assert.is(bytes.length, 8 + n + 17)
  assert.equal([...new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n, bytes.byteOffset + 8 + n + 12))], [1, 1, 1])
})

test('reads a file written from the format description in Python, converting F16/BF16/F64/I64/U8/I8', async () => {
  const ckpt = right(await F.io.loadSafetensors(fixture('mixed.safetensors')))
  assert.equal(ckpt.metadata, { format: 'pt', source: 'make_io_fixtures.py' })
  await expectFixtureTensors(ckpt, 'mixed.safetensors')
  const byName = Object.fromEntries(ckpt.conversions.map((c) => [c.name, c]))
  assert.equal(byName.f16, { name: 'f16', from: 'F16', to: 'float32', exact: true })
  assert.equal(byName.bf16, { name: 'bf16', from: 'BF16', to: 'float32', exact: true })
  assert.equal(byName.f64, { name: 'f64', from: 'F64', to: 'float32', exact: false })
  assert.equal(byName.i64, { name: 'i64', from: 'I64', to: 'int32', exact: true })
  assert.equal(byName.u8?.to, 'int32')
  assert.is(byName.f32, undefined)
  assert.ok(ckpt.notes.some((n) => n.startsWith('F64 → float32: 1 tensor (rounded to nearest; values changed in 1: f64')), ckpt.notes.join('\n'))
})

test('refuses stored types that would lose values silently, naming the key, the value and the type', async () => {
  const big = new BigInt64Array([1n, 2n ** 40n])
  const e1 = left(await F.io.loadSafetensors(write(rawSafetensors({ step: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(big.buffer)))))
  assert.is(e1.reason, 'unsupported')
  assert.is(e1.key, 'step')
  assert.ok(e1.message.includes('1099511627776') && e1.message.includes('int32'), e1.message)
  const huge = new Float64Array([1, 1e300])
  const e2 = left(await F.io.loadSafetensors(write(rawSafetensors({ w: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(huge.buffer)))))
  assert.ok(e2.reason === 'unsupported' && e2.message.includes('1e+300') && e2.message.includes('overflows float32'), e2.message)
  const e3 = left(await F.io.loadSafetensors(write(rawSafetensors({ q: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)))))
  assert.ok(e3.reason === 'unsupported' && e3.key === 'q' && e3.message.includes('F8_E4M3'), e3.message)
  const u64 = new BigUint64Array([2n ** 63n])
  const e4 = left(await F.io.loadSafetensors(write(rawSafetensors({ u: { dtype: 'U64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(u64.buffer)))))
  assert.ok(e4.message.includes('9223372036854775808'), e4.message)
  const u32 = new Uint32Array([5, 2 ** 31])
  const e5 = left(await F.io.loadSafetensors(write(rawSafetensors({ u: { dtype: 'U32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(u32.buffer)))))
  assert.ok(e5.message.includes('2147483648') && e5.message.includes('flat index 1'), e5.message)
})

test('truncated and corrupt files are rejected with the reason and no tensors', async () => {
  const path = join(scratch(), 'good.safetensors')
  right(await F.io.saveSafetensors(path, { a: F.ones([4]), b: F.zeros([2, 2]) }))
  const good = readFileSync(path)
  const cutPath = write(good.subarray(0, good.length - 3))
  const cut = left(await F.io.loadSafetensors(cutPath))
  assert.is(cut.reason, 'truncated')
  assert.is(cut.file, cutPath)
  assert.ok(cut.message.startsWith(cutPath) && cut.message.includes('tensor b ends at byte 32'), cut.message)
  const inHeader = left(await F.io.loadSafetensors(write(good.subarray(0, 20))))
  assert.is(inHeader.reason, 'truncated')
  assert.ok(inHeader.message.includes('header claims'), inHeader.message)
  assert.is(left(await F.io.loadSafetensors(write(good.subarray(0, 5)))).reason, 'truncated')
  const corrupt = (header: unknown, data: Uint8Array, text?: string) => F.io.loadSafetensors(write(rawSafetensors(header, data, text)))
  assert.ok(left(await corrupt(null, new Uint8Array(0), '{"a": ')).message.includes('not valid UTF-8 JSON'))
  assert.ok(left(await corrupt({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(12))).message.includes('4 trailing bytes'))
  const overlap = left(await corrupt({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)))
  assert.ok(overlap.reason === 'corrupt' && overlap.message.includes('overlaps'), overlap.message)
  const span = left(await corrupt({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)))
  assert.ok(span.key === 'a' && span.message.includes('needs 12'), span.message)
  assert.ok(left(await corrupt({ __metadata__: { n: 3 } }, new Uint8Array(0))).message.includes('not a string'))
  assert.ok(left(await corrupt({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0))).message.includes('invalid shape'))
  const huge = Buffer.alloc(16, 0x7b)
  huge.writeBigUInt64LE(2n ** 40n)
  assert.ok(left(await F.io.loadSafetensors(write(huge))).message.includes('100 MB'))
  const missing = left(await F.io.loadSafetensors(join(scratch(), 'nope.safetensors')))
  assert.ok(missing.reason === 'io' && missing.message.includes('ENOENT'), missing.message)
})

/** A tensor whose readback fails, as a lost GPU device would: the write fails after the header is out. */
const failingTensor = (): Tensor => ({
  kind: 'tensor', backend: 'cpu', shape: [4], dtype: 'float32',
  data: { slice: () => { throw new Error('device lost during readback') } },
}) as unknown as Tensor

test('a failing write leaves the old file intact and no temporary file behind', async () => {
  const dir = scratch()
  const path = join(dir, 'ckpt.safetensors')
  right(await F.io.saveSafetensors(path, { w: F.tensor([1, 2, 3]) }))
  const before = readFileSync(path)
  const err = left(await F.io.saveSafetensors(path, { a: F.ones([1000]), b: failingTensor() }))
  assert.is(err.kind, 'SaveError')
  assert.is(err.key, 'b')
  assert.ok(err.message.includes('device lost during readback') && err.message.includes(path), err.message)
  assert.equal(readFileSync(path), before)
  assert.equal(readdirSync(dir), ['ckpt.safetensors'])
  assert.equal(await F.toNested(right(await F.io.loadSafetensors(path)).tensors.get('w')!), [1, 2, 3])
  // The rename itself failing (the target is a non-empty directory) also cleans up.
  const blocked = join(dir, 'blocked.safetensors')
  mkdirSync(blocked)
  writeFileSync(join(blocked, 'keep'), 'x')
  assert.ok(left(await F.io.saveSafetensors(blocked, { w: F.ones([2]) })).message.match(/EISDIR|ENOTEMPTY|EEXIST/))
  assert.equal(readdirSync(dir).sort(), ['blocked.safetensors', 'ckpt.safetensors'])
  // A directory that does not exist.
  assert.ok(left(await F.io.saveSafetensors(join(dir, 'no', 'such.safetensors'), { w: F.ones([2]) })).message.includes('ENOENT'))
  // And a successful save replaces the file whole.
  right(await F.io.saveSafetensors(path, { v: F.zeros([2]) }))
  assert.equal([...right(await F.io.loadSafetensors(path)).tensors.keys()], ['v'])
})

test('saving refuses non-tensor leaves, repeated names and non-string metadata before touching the file', async () => {
  const dir = scratch()
  const path = join(dir, 'x.safetensors')
  const e1 = left(await F.io.saveSafetensors(path, { a: F.ones([1]), cfg: { lr: 0.1 } }))
  assert.ok(e1.key === 'cfg.lr' && e1.message.includes('expected a tensor'), e1.message)
  const e2 = left(await F.io.saveSafetensors(path, { 'a.b': F.ones([1]), a: { b: F.ones([1]) } }))
  assert.ok(e2.key === 'a.b' && e2.message.includes('two tensors'), e2.message)
  const e3 = left(await F.io.saveSafetensors(path, { a: F.ones([1]) }, { step: 3 } as unknown as Record<string, string>))
  assert.ok(e3.message.includes('must be a string'), e3.message)
  assert.equal(readdirSync(dir), [])
})

test('tensors on WebGPU are read back while writing and load onto the current backend', async () => {
  if (!(await gpuAvailable('io safetensors'))) return
  await F.setBackend('webgpu')
  try {
    const path = join(scratch(), 'gpu.safetensors')
    const w = F.mul(F.arange(0, 6), 0.5)
    right(await F.io.saveSafetensors(path, { w, m: F.greater(w, 1) }))
    const ckpt = right(await F.io.loadSafetensors(path))
    const back = ckpt.tensors.get('w')!
    assert.is(back.kind === 'tensor' ? back.backend : back.kind, 'webgpu')
    assert.equal(Array.from(await F.toArray(back)), [0, 0.5, 1, 1.5, 2, 2.5])
    assert.equal(Array.from(await F.toArray(ckpt.tensors.get('m')!)), [0, 0, 0, 1, 1, 1])
  } finally {
    await F.setBackend('cpu')
  }
})

test.run()
