// Speed sanity: a 100 MB checkpoint should take seconds, not minutes, in every format. The suite prints
// what it measured; the bound is loose (the CI machine is shared) and exists to catch pathologies such as
// per-element promise chains or quadratic copies.
import { rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { makeZip, right, scratch } from './helpers.js'

const megabytes = 100
const perTensor = (megabytes * 2 ** 20) / 4 / 4 // four float32 tensors
const bound = 60_000

const big = (seed: number): Float32Array => {
  const a = new Float32Array(perTensor)
  for (let i = 0; i < a.length; i++) a[i] = ((i * 2654435761 + seed) % 1000) / 7
  return a
}

const timed = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
  const t0 = performance.now()
  const out = await run()
  const ms = performance.now() - t0
  console.log(`  ${what}: ${(ms / 1000).toFixed(2)} s`)
  assert.ok(ms < bound, `${what} took ${ms.toFixed(0)} ms`)
  return out
}

const spotCheck = async (t: Tensor, want: Float32Array): Promise<void> => {
  const got = await F.toArray(t)
  assert.is(got.length, want.length)
  for (const i of [0, 1, 12345, want.length - 1]) assert.is(got[i], want[i])
}

const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')]
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]

/** The data.pkl torch.save writes for `{name: float32[numel]}` (protocol 2), one storage per tensor. */
const torchPickle = (names: readonly string[], numel: number): Uint8Array => {
  const str = (s: string) => [0x58, ...u32(s.length), ...ascii(s)]
  const ordered = [0x63, ...ascii('collections\nOrderedDict\n'), 0x29, 0x52]
  const body = names.flatMap((name, key) => [
    ...str(name),
    0x63, ...ascii('torch._utils\n_rebuild_tensor_v2\n'),
    0x28, 0x28, ...str('storage'), 0x63, ...ascii('torch\nFloatStorage\n'), ...str(String(key)), ...str('cpu'), 0x4a, ...u32(numel), 0x74, 0x51,
    0x4b, 0, 0x4a, ...u32(numel), 0x85, 0x4b, 1, 0x85, 0x89, ...ordered, 0x74, 0x52,
  ])
  return Uint8Array.from([0x80, 2, ...ordered, 0x28, ...body, 0x75, 0x2e])
}

/** A protocol-4 pickle `{"model": {name: float32 ndarray}}` as NumPy writes it (BINBYTES8 data). */
const numpyPickle = (arrays: readonly [string, Float32Array][]): Buffer => {
  const str = (s: string) => [0x58, ...u32(s.length), ...ascii(s)]
  const parts: Uint8Array[] = [Uint8Array.from([0x80, 4, 0x7d, ...str('model'), 0x7d, 0x28])]
  for (const [name, a] of arrays) {
    const head = [
      ...str(name), 0x63, ...ascii('numpy._core.multiarray\n_reconstruct\n'), 0x63, ...ascii('numpy\nndarray\n'), 0x4b, 0, 0x85, 0x43, 1, 0x62, 0x87, 0x52,
      0x28, 0x4b, 1, 0x4a, ...u32(a.length), 0x85, 0x63, ...ascii('numpy\ndtype\n'), ...str('f4'), 0x89, 0x88, 0x87, 0x52,
      0x28, 0x4b, 3, ...str('<'), 0x4e, 0x4e, 0x4e, 0x4a, ...u32(-1 >>> 0), 0x4a, ...u32(-1 >>> 0), 0x4b, 0, 0x74, 0x62, 0x89,
      0x8e, ...u32(a.byteLength), 0, 0, 0, 0,
    ]
    parts.push(Uint8Array.from(head), new Uint8Array(a.buffer), Uint8Array.from([0x74, 0x62]))
  }
  parts.push(Uint8Array.from([0x75, 0x73, 0x2e]))
  return Buffer.concat(parts)
}

test(`${megabytes} MB: safetensors save and load, .pth and .pkl load`, async () => {
  const dir = scratch()
  const arrays = [0, 1, 2, 3].map((k) => [`layer${k}.weight`, big(k)] as [string, Float32Array])
  const tensors = new Map(arrays.map(([n, a]) => [n, F.tensor(a)]))
  try {
    const st = join(dir, 'big.safetensors')
    await timed(`save ${megabytes} MB safetensors`, async () => right(await F.io.saveSafetensors(st, tensors)))
    assert.ok(statSync(st).size > megabytes * 2 ** 20)
    const loaded = await timed(`load ${megabytes} MB safetensors`, async () => right(await F.io.loadSafetensors(st)))
    for (const [n, a] of arrays) await spotCheck(loaded.tensors.get(n)!, a)
    rmSync(st)

    const pth = join(dir, 'big.pth')
    const names = arrays.map(([n]) => n)
    const members = [
      { name: 'archive/data.pkl', data: torchPickle(names, perTensor) },
      { name: 'archive/byteorder', data: Uint8Array.from(ascii('little')) },
      ...arrays.map(([, a], key) => ({ name: `archive/data/${key}`, data: new Uint8Array(a.buffer) })),
    ]
    writeFileSync(pth, makeZip(members))
    const fromPth = await timed(`load ${megabytes} MB .pth`, async () => right(await F.io.loadPth(pth)))
    for (const [n, a] of arrays) await spotCheck(fromPth.tensors.get(n)!, a)
    rmSync(pth)

    const pkl = join(dir, 'big.pkl')
    writeFileSync(pkl, numpyPickle(arrays))
    const fromPkl = await timed(`load ${megabytes} MB .pkl`, async () => right(await F.io.loadPkl(pkl)))
    for (const [n, a] of arrays) await spotCheck(fromPkl.tensors.get(n)!, a)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
