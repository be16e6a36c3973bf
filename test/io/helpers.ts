/** Shared helpers for the checkpoint suites: fixture paths, scratch directories, expected values. */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/Either'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'

export const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/io/${name}`, import.meta.url))

type Expected = Record<string, Record<string, { shape: number[]; dtype: F.DType; values: (number | boolean)[] }>>

/** What make_io_fixtures.py says each fixture holds, after fovea's dtype conversion policy. */
export const expected = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Expected

export const scratch = (): string => mkdtempSync(join(tmpdir(), 'fovea-io-'))

/** The Right value, or a failed assertion quoting the Left's message. */
export const right = <L extends { message: string }, R>(x: E.Either<L, R>): R => {
  if (E.isLeft(x)) assert.unreachable(`expected Right, got Left: ${x.left.message}`)
  return (x as E.Right<R>).right
}

/** The Left value, or a failed assertion. */
export const left = <L, R>(x: E.Either<L, R>): L => {
  if (E.isRight(x)) assert.unreachable('expected Left, got Right')
  return (x as E.Left<L>).left
}

/** Asserts every tensor the fixture script recorded for `file` loaded bit-exactly with its dtype and shape. */
export const expectFixtureTensors = async (ckpt: F.io.Checkpoint, file: string): Promise<void> => {
  const want = expected[file]
  assert.ok(want !== undefined, `no expected values for ${file}`)
  for (const [name, e] of Object.entries(want!)) {
    const t = ckpt.tensors.get(name)
    assert.ok(t !== undefined, `${file}: ${name} was not loaded (got ${[...ckpt.tensors.keys()].join(', ')})`)
    assert.is(t!.dtype, e.dtype, `${name} dtype`)
    assert.equal([...t!.shape], e.shape, `${name} shape`)
    const got = Array.from(await F.toArray(t!))
    const values = e.values.map((v) => (typeof v === 'boolean' ? Number(v) : e.dtype === 'float32' ? Math.fround(v) : v))
    assert.equal(got, values, `${name} values`)
  }
}
