/** Shared helpers for the checkpoint suites: fixture paths, scratch directories, expected values. */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateRawSync } from 'node:zlib'
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

// CRC-32 (IEEE), so the test's zip writer does not depend on the reader under test.
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32Of = (data: Uint8Array): number => {
  let c = 0xffffffff
  for (const b of data) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A minimal zip writer for archives the fixtures do not cover (zip64 records, odd members). */
export const makeZip = (members: readonly { name: string; data: Uint8Array; deflate?: boolean }[], zip64 = false): Buffer => {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const m of members) {
    const name = Buffer.from(m.name)
    const body = m.deflate === true ? deflateRawSync(m.data) : Buffer.from(m.data)
    const crc = crc32Of(m.data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(m.deflate === true ? 8 : 0, 8)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(body.length, 18)
    local.writeUInt32LE(m.data.length, 22)
    local.writeUInt16LE(name.length, 26)
    locals.push(local, name, body)
    const extra = zip64 ? Buffer.alloc(28) : Buffer.alloc(0)
    if (zip64) {
      extra.writeUInt16LE(1, 0)
      extra.writeUInt16LE(24, 2)
      extra.writeBigUInt64LE(BigInt(m.data.length), 4)
      extra.writeBigUInt64LE(BigInt(body.length), 12)
      extra.writeBigUInt64LE(BigInt(offset), 20)
    }
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(m.deflate === true ? 8 : 0, 10)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(zip64 ? 0xffffffff : body.length, 20)
    central.writeUInt32LE(zip64 ? 0xffffffff : m.data.length, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt16LE(extra.length, 30)
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42)
    centrals.push(central, name, extra)
    offset += 30 + name.length + body.length
  }
  const dir = Buffer.concat(centrals)
  const tail: Buffer[] = []
  if (zip64) {
    const rec = Buffer.alloc(56)
    rec.writeUInt32LE(0x06064b50, 0)
    rec.writeBigUInt64LE(44n, 4)
    rec.writeBigUInt64LE(BigInt(members.length), 24)
    rec.writeBigUInt64LE(BigInt(members.length), 32)
    rec.writeBigUInt64LE(BigInt(dir.length), 40)
    rec.writeBigUInt64LE(BigInt(offset), 48)
    const locator = Buffer.alloc(20)
    locator.writeUInt32LE(0x07064b50, 0)
    locator.writeBigUInt64LE(BigInt(offset + dir.length), 8)
    locator.writeUInt32LE(1, 16)
    tail.push(rec, locator)
  }
  const eocd = Buffer.alloc(22)
  eocd.writeUInt32LE(0x06054b50, 0)
  eocd.writeUInt16LE(zip64 ? 0xffff : members.length, 8)
  eocd.writeUInt16LE(zip64 ? 0xffff : members.length, 10)
  eocd.writeUInt32LE(dir.length, 12)
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16)
  return Buffer.concat([...locals, dir, ...tail, eocd])
}
