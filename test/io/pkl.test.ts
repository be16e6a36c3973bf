import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { containerGlobals, globalTable, unpickle } from '../../io/pickle.js'
import { expectFixtureTensors, fixture, left, right, scratch } from './helpers.js'

const plain = (bytes: number[] | Uint8Array): unknown => unpickle(Uint8Array.from(bytes), { source: 'test.pkl', globals: globalTable(containerGlobals()) })

const throwsProblem = (fn: () => unknown, reason: string, ...fragments: string[]): void => {
  try {
    fn()
  } catch (e) {
    assert.is((e as { reason?: string }).reason, reason, (e as Error).message)
    for (const f of fragments) assert.ok((e as Error).message.includes(f), `"${(e as Error).message}" should contain "${f}"`)
    return
  }
  assert.unreachable('expected a problem')
}

test('detectron2 model-zoo layout, protocol 2 (NumPy 2 names) and NumPy 1 names', async () => {
  for (const file of ['d2_p2.pkl', 'd2_p2_numpy1.pkl']) {
    const ckpt = right(await F.io.loadPkl(fixture(file)))
    assert.is(ckpt.format, 'pkl')
    assert.equal(ckpt.metadata, { __author__: 'fovea-fixture', matching_heuristics: 'true' })
    assert.is(ckpt.tensors.size, 7)
    await expectFixtureTensors(ckpt, file)
    assert.ok(ckpt.notes.some((n) => n.includes('"model" entry')), ckpt.notes.join('\n'))
    assert.ok(ckpt.notes.some((n) => n.includes('matching heuristics')), ckpt.notes.join('\n'))
  }
})

test('protocols 4 and 5: every NumPy dtype fovea reads, Fortran order, big-endian, 0-d, empty, nested dicts', async () => {
  for (const file of ['d2_zoo_p4.pkl', 'd2_zoo_p5.pkl']) {
    const ckpt = right(await F.io.loadPkl(fixture(file)))
    await expectFixtureTensors(ckpt, file)
    // numpy scalars at the top level become metadata; the string entry is skipped with a note.
    assert.equal(ckpt.metadata, { __author__: 'fovea-fixture', iteration: '89999', lr: String(Math.fround(0.02)) })
    assert.ok(ckpt.notes.some((n) => n.includes('skipped 1 non-tensor entry: not_a_tensor')), ckpt.notes.join('\n'))
    const conv = Object.fromEntries(ckpt.conversions.map((c) => [c.name, `${c.from}→${c.to}${c.exact ? '' : ' (rounded)'}`]))
    assert.equal(conv, {
      f64: 'F64→float32 (rounded)', f64_exact: 'F64→float32', f16: 'F16→float32', i64: 'I64→int32', i16: 'I16→int32', u8: 'U8→int32', i8: 'I8→int32',
    })
  }
})

test('flat dicts (protocol 3) and Python 2 pickles with latin-1 str data (Detectron 1 blobs)', async () => {
  const flat = right(await F.io.loadPkl(fixture('flat_p3.pkl')))
  await expectFixtureTensors(flat, 'flat_p3.pkl')
  assert.equal(flat.notes, [])
  const py2 = right(await F.io.loadPkl(fixture('py2_latin1.pkl')))
  await expectFixtureTensors(py2, 'py2_latin1.pkl')
  assert.equal(py2.metadata, { __author__: 'Detectron' })
  assert.ok(py2.notes.some((n) => n.includes('Caffe2')), py2.notes.join('\n'))
})

test('refuses what it must not run or cannot represent, naming the global, dtype and key', async () => {
  const evil = left(await F.io.loadPkl(fixture('evil.pkl')))
  assert.is(evil.reason, 'unsupported')
  assert.ok(evil.message.includes('unsupported pickle global posix.system') || evil.message.includes('os.system'), evil.message)
  assert.ok(evil.message.startsWith(fixture('evil.pkl')), evil.message)
  const objects = left(await F.io.loadPkl(fixture('object_array.pkl')))
  assert.ok(objects.key === 'names' && objects.message.includes('object array'), objects.message)
  const complex = left(await F.io.loadPkl(fixture('complex.pkl')))
  assert.ok(complex.key === 'z' && complex.message.includes('NumPy dtype c8'), complex.message)
  const legacy = left(await F.io.loadPkl(fixture('legacy.pth')))
  assert.ok(legacy.message.includes('legacy torch.save format'), legacy.message)
})

test('truncated and corrupt pickles are rejected with the byte position', async () => {
  const good = readFileSync(fixture('d2_p2.pkl'))
  const dir = scratch()
  for (const cut of [good.length - 1, Math.floor(good.length / 2), 3]) {
    const path = join(dir, `cut${cut}.pkl`)
    writeFileSync(path, good.subarray(0, cut))
    const e = left(await F.io.loadPkl(path))
    assert.is(e.reason, 'truncated', e.message)
    assert.ok(/pickle ends/.test(e.message), e.message)
  }
  const bad = Buffer.from(good)
  bad[2] = 0xff // an opcode that does not exist, right after PROTO
  const badPath = join(dir, 'bad.pkl')
  writeFileSync(badPath, bad)
  const e = left(await F.io.loadPkl(badPath))
  assert.ok(e.reason === 'unsupported' && e.message.includes('opcode 0xff') && e.message.includes('at byte 2'), e.message)
})

test('the unpickler: containers, memo, ints of every width, floats, strings and bytes', () => {
  // {'a': [1, -2, 300, 70000, 2**40, -(2**70)], 'b': (True, None, 1.5), 'c': b'xy', 'd': 'é'} at protocol 2.
  const value = plain([
    0x80, 2, 0x7d, 0x71, 0, 0x28,
    0x58, 1, 0, 0, 0, 0x61, 0x5d, 0x71, 1, 0x28, 0x4b, 1, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x4d, 0x2c, 0x01, 0x4a, 0x70, 0x11, 0x01, 0x00,
    0x8a, 6, 0, 0, 0, 0, 0, 1, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0x65,
    0x58, 1, 0, 0, 0, 0x62, 0x88, 0x4e, 0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x87,
    0x58, 1, 0, 0, 0, 0x63, 0x43, 2, 0x78, 0x79,
    0x58, 1, 0, 0, 0, 0x64, 0x58, 2, 0, 0, 0, 0xc3, 0xa9,
    0x75, 0x2e,
  ]) as Map<string, unknown>
  assert.equal([...value.keys()], ['a', 'b', 'c', 'd'])
  assert.equal(value.get('a'), [1, -2, 300, 70000, 2 ** 40, -(2n ** 70n)])
  assert.equal(value.get('b'), [true, null, 1.5])
  assert.equal(value.get('c'), new Uint8Array([0x78, 0x79]))
  assert.is(value.get('d'), 'é')
  // Memo: BINPUT then BINGET gives the same object; protocol 0 text opcodes.
  const shared = plain([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x86, 0x2e]) as unknown[][]
  assert.is(shared[0], shared[1])
  assert.equal(plain([...Buffer.from("(I42\nF2.5\nS'a\\nb'\nVx\\u00e9\nI01\nl.", 'latin1')]), [42, 2.5, 'a\nb', 'xé', true])
})

test('the unpickler names the opcode, the global and the byte for what it refuses', () => {
  throwsProblem(() => plain([0x80, 2, 0x63, ...Buffer.from('os\nsystem\n'), 0x2e]), 'unsupported', 'test.pkl', 'os.system')
  throwsProblem(() => plain([0x80, 2, 0x69, 0x2e]), 'unsupported', "opcode 0x69 ('i') at byte 2")
  throwsProblem(() => plain([0x80, 2, 0x4e]), 'truncated', 'without a STOP')
  throwsProblem(() => plain([0x80, 2, 0x58, 10, 0, 0, 0, 0x61]), 'truncated', 'in the middle of an opcode')
  throwsProblem(() => plain([0x80, 2, 0x68, 3, 0x2e]), 'corrupt', 'memo has no entry 3')
  throwsProblem(() => plain([0x80, 2, 0x30, 0x2e]), 'corrupt', 'stack underflow')
  throwsProblem(() => plain([0x80, 2, 0x51, 0x2e]), 'corrupt', 'stack underflow')
  throwsProblem(() => plain([0x80, 2, 0x4e, 0x51, 0x2e]), 'unsupported', 'persistent id None')
  throwsProblem(() => plain([0x80, 5, 0x97, 0x2e]), 'unsupported', 'out-of-band buffer')
})

test.run()
