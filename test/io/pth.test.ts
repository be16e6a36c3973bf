import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { openZip } from '../../io/zip.js'
import { expectFixtureTensors, fixture, left, makeZip, right, scratch } from './helpers.js'

const copyWith = (name: string, edit: (b: Buffer) => Buffer): string => {
  const path = join(scratch(), name)
  writeFileSync(path, edit(Buffer.from(readFileSync(fixture(name)))))
  return path
}

test('torch.save layout: 64-byte aligned stored members, views, shared storage, dtype conversions, parameters', async () => {
  const ckpt = right(await F.io.loadPth(fixture('state_dict.pth')))
  assert.is(ckpt.format, 'pth')
  await expectFixtureTensors(ckpt, 'state_dict.pth')
  assert.equal([...ckpt.tensors.keys()], ['conv.weight', 'conv.bias', 'fc.weight', 'fc.bias', 'bn.running_mean', 'bn.num_batches_tracked', 'half.weight', 'bf.weight', 'mask', 'param'])
  const conv = Object.fromEntries(ckpt.conversions.map((c) => [c.name, `${c.from}→${c.to}`]))
  assert.equal(conv, { 'bn.running_mean': 'F64→float32', 'bn.num_batches_tracked': 'I64→int32', 'half.weight': 'F16→float32', 'bf.weight': 'BF16→float32' })
  assert.equal(ckpt.metadata, {})
})

test('detectron2 training checkpoint: the model entry of a deflated archive under its own folder name', async () => {
  const ckpt = right(await F.io.loadPth(fixture('d2_train.pth')))
  await expectFixtureTensors(ckpt, 'd2_train.pth')
  assert.equal(ckpt.metadata, { iteration: '89999' })
  assert.ok(ckpt.notes.some((n) => n.includes('"model" entry; ignored: optimizer, scheduler')), ckpt.notes.join('\n'))
  const zip = await openZip(fixture('d2_train.pth'))
  try {
    assert.ok([...zip.entries.values()].every((e) => e.name.startsWith('model_final/') && e.method === 8))
  } finally {
    await zip.close()
  }
})

test('zip64 directory records are understood', async () => {
  const zip = await openZip(fixture('state_dict.pth'))
  const members = await Promise.all([...zip.entries.values()].map(async (e) => ({ name: e.name, data: await zip.read(e), deflate: e.name.endsWith('/0') })))
  await zip.close()
  const path = join(scratch(), 'zip64.pth')
  writeFileSync(path, makeZip(members, true))
  await expectFixtureTensors(right(await F.io.loadPth(path)), 'state_dict.pth')
})

test('refuses TorchScript archives, the legacy format and archives without data.pkl', async () => {
  const ts = left(await F.io.loadPth(fixture('torchscript_like.pt')))
  assert.ok(ts.reason === 'unsupported' && ts.message.includes('TorchScript'), ts.message)
  const legacy = left(await F.io.loadPth(fixture('legacy.pth')))
  assert.ok(legacy.message.includes('no zip end-of-central-directory'), legacy.message)
  const viaAny = left(await F.io.loadCheckpoint(fixture('legacy.pth')))
  assert.ok(viaAny.message.includes('legacy torch.save format'), viaAny.message)
  const path = join(scratch(), 'other.zip')
  writeFileSync(path, makeZip([{ name: 'readme.txt', data: new TextEncoder().encode('hi') }]))
  assert.ok(left(await F.io.loadPth(path)).message.includes('without a data.pkl'))
})

test('truncated archives, damaged members and missing storages are rejected with the member named', async () => {
  const size = readFileSync(fixture('state_dict.pth')).length
  const cutTail = left(await F.io.loadPth(copyWith('state_dict.pth', (b) => b.subarray(0, size - 10))))
  assert.is(cutTail.reason, 'truncated')
  const cutHalf = left(await F.io.loadPth(copyWith('state_dict.pth', (b) => b.subarray(0, size >> 1))))
  assert.is(cutHalf.reason, 'truncated')
  // Flip one byte inside storage data/0: the CRC-32 check catches it.
  const flipped = left(await F.io.loadPth(copyWith('state_dict.pth', (b) => {
    const at = b.indexOf(Buffer.from('archive/data/0')) + 'archive/data/0'.length
    const dataStart = at + b.readUInt16LE(at - 'archive/data/0'.length - 2)
    b[dataStart + 5] ^= 0xff
    return b
  })))
  assert.ok(flipped.reason === 'corrupt' && flipped.message.includes('archive/data/0') && flipped.message.includes('CRC-32'), flipped.message)
  const zip = await openZip(fixture('state_dict.pth'))
  const members = await Promise.all([...zip.entries.values()].map(async (e) => ({ name: e.name, data: await zip.read(e) })))
  await zip.close()
  const path = join(scratch(), 'missing.pth')
  writeFileSync(path, makeZip(members.filter((m) => m.name !== 'archive/data/2')))
  const missing = left(await F.io.loadPth(path))
  assert.ok(missing.key === 'fc.weight' && missing.message.includes('archive/data/2 is missing'), missing.message)
  const short = join(scratch(), 'short.pth')
  writeFileSync(short, makeZip(members.map((m) => (m.name === 'archive/data/0' ? { ...m, data: m.data.subarray(0, 8) } : m))))
  const e = left(await F.io.loadPth(short))
  assert.ok(e.key === 'conv.weight' && e.message.includes('holds 8 bytes'), e.message)
})

test('loadCheckpoint picks the format from the bytes, whatever the extension', async () => {
  const dir = scratch()
  const cases: [string, string][] = [['state_dict.pth', 'pth'], ['d2_p2.pkl', 'pkl'], ['mixed.safetensors', 'safetensors']]
  for (const [file, format] of cases) {
    const renamed = join(dir, `${file}.weights`)
    writeFileSync(renamed, readFileSync(fixture(file)))
    const ckpt = right(await F.io.loadCheckpoint(renamed))
    assert.is(ckpt.format, format)
    await expectFixtureTensors({ ...ckpt }, file)
  }
  const junk = join(dir, 'junk.bin2')
  writeFileSync(junk, 'hello world, not a checkpoint')
  assert.ok(left(await F.io.loadCheckpoint(junk)).message.includes('not a recognized checkpoint'))
})

test.run()
