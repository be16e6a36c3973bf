/**
 * safetensors, fovea's native checkpoint format (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {string: string}}`, then the raw little-endian tensor bytes, offsets relative to the end
 * of the header. Like the reference implementation, the reader insists that the tensors tile the data
 * section exactly (no gaps, no overlaps, no trailing bytes), which is how truncation and corruption show.
 */
import * as E from 'fp-ts/Either'
import { endianness } from 'node:os'
import { open } from 'node:fs/promises'
import { size } from '../core/shape.js'
import type { Tensor } from '../core/tensor.js'
import { fromTypedArray } from '../ops/creation.js'
import { toArray } from '../ops/readback.js'
import { type Checkpoint, type NamedTensors, makeCheckpoint, namedEntries } from './checkpoint.js'
import { type Conversion, type StoredDType, isStoredDType, itemSize, storedOf, toFovea } from './dtypes.js'
import { type LoadError, type SaveError, guardLoad, problem, toSaveError } from './errors.js'
import { readExactly, writeAll, writeFileAtomically } from './files.js'

/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length reads huge). */
const maxHeaderBytes = 100_000_000

type HeaderEntry = { readonly name: string; readonly dtype: StoredDType; readonly shape: number[]; readonly begin: number; readonly end: number }

const hostIsLittleEndian = (): void => {
  if (endianness() !== 'LE') problem('unsupported', 'checkpoint I/O assumes a little-endian host')
}

const isDim = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0

const parseEntry = (name: string, raw: unknown): HeaderEntry => {
  if (typeof raw !== 'object' || raw === null) return problem('corrupt', 'header entry is not an object', name)
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>
  if (typeof dtype !== 'string') return problem('corrupt', 'header entry has no dtype', name)
  if (!isStoredDType(dtype)) return problem('unsupported', `stored dtype ${dtype} is not supported (fovea reads BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64)`, name)
  if (!Array.isArray(shape) || !shape.every(isDim)) return problem('corrupt', `invalid shape ${JSON.stringify(shape)}`, name)
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim) || offsets[1] < offsets[0]) {
    return problem('corrupt', `invalid data_offsets ${JSON.stringify(offsets)}`, name)
  }
  const [begin, end] = offsets as [number, number]
  const want = size(shape) * itemSize[dtype]
  if (end - begin !== want) problem('corrupt', `data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype}[${shape.join(',')}] needs ${want}`, name)
  return { name, dtype, shape, begin, end }
}

const parseMetadata = (raw: unknown): Record<string, string> => {
  if (raw === undefined) return {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return problem('corrupt', '__metadata__ must be an object of strings')
  for (const [k, v] of Object.entries(raw)) if (typeof v !== 'string') problem('corrupt', `__metadata__ value for ${JSON.stringify(k)} is not a string`)
  return raw as Record<string, string>
}

/** Checks that the entries tile `[0, dataBytes)` exactly; sorted by offset. */
const checkLayout = (entries: readonly HeaderEntry[], dataBytes: number): void => {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)
  let at = 0
  for (const e of sorted) {
    if (e.begin !== at) problem('corrupt', e.begin < at ? `data overlaps the previous tensor (starts at ${e.begin}, previous ends at ${at})` : `gap in the data section before byte ${e.begin}`, e.name)
    at = e.end
  }
  if (at > dataBytes) {
    const last = sorted[sorted.length - 1]!
    problem('truncated', `the data section holds ${dataBytes} bytes but tensor ${last.name} ends at byte ${at} (file truncated?)`)
  }
  if (at < dataBytes) problem('corrupt', `${dataBytes - at} trailing bytes after the last tensor`)
}

/**
 * Reads a `.safetensors` file. Tensors arrive on the current backend in file-header order, named as in the
 * file; stored types other than F32/I32/BOOL are converted by the policy in io/dtypes.ts and listed in
 * `conversions`. A truncated or inconsistent file yields `Left` with the reason and no tensors.
 */
export const loadSafetensors = (path: string): Promise<E.Either<LoadError, Checkpoint>> =>
  guardLoad(path, async () => {
    hostIsLittleEndian()
    const fh = await open(path, 'r')
    try {
      const fileBytes = (await fh.stat()).size
      if (fileBytes < 8) problem('truncated', `${fileBytes} bytes is too short for a safetensors header length`)
      const lengthBytes = new Uint8Array(8)
      await readExactly(fh, lengthBytes, 0, 'the header length')
      const headerBytes = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true))
      if (headerBytes > maxHeaderBytes) problem('corrupt', `header length ${headerBytes} exceeds the 100 MB limit (not a safetensors file?)`)
      if (headerBytes > fileBytes - 8) problem('truncated', `header claims ${headerBytes} bytes but only ${fileBytes - 8} follow`)
      const headerRaw = new Uint8Array(headerBytes)
      await readExactly(fh, headerRaw, 8, 'the header')
      let header: unknown
      try {
        header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerRaw))
      } catch (e) {
        problem('corrupt', `header is not valid UTF-8 JSON (${(e as Error).message})`)
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header)) problem('corrupt', 'header is not a JSON object')
      const { __metadata__: rawMeta, ...rest } = header as Record<string, unknown>
      const metadata = parseMetadata(rawMeta)
      const entries = Object.entries(rest).map(([name, raw]) => parseEntry(name, raw))
      const dataStart = 8 + headerBytes
      checkLayout(entries, fileBytes - dataStart)
      const tensors = new Map<string, Tensor>()
      const conversions: Conversion[] = []
      for (const e of entries) {
        // A fresh buffer per tensor, read straight from the file: the float32/int32 case needs no copy.
        const bytes = new Uint8Array(e.end - e.begin)
        await readExactly(fh, bytes, dataStart + e.begin, `tensor ${e.name}`)
        const strides = e.shape.map((_, i) => size(e.shape.slice(i + 1)))
        const out = toFovea(e.name, { dtype: e.dtype, shape: e.shape, strides, offset: 0, bytes, littleEndian: true }, true)
        if (out.conversion !== undefined) conversions.push(out.conversion)
        tensors.set(e.name, fromTypedArray(out.data, e.shape, out.dtype))
      }
      return makeCheckpoint('safetensors', path, tensors, metadata, conversions)
    } finally {
      await fh.close()
    }
  })

/** What `saveSafetensors` wrote. */
export type SavedFile = { readonly kind: 'SavedFile'; readonly file: string; readonly bytes: number; readonly tensors: number }

/**
 * Writes named tensors (a Map, a Checkpoint, or any param tree — flattened to dotted state-dict names) as
 * `.safetensors` with optional string `metadata` (`__metadata__`). float32, int32 and bool are stored as
 * F32, I32 and BOOL; each tensor is read back from its backend (WebGPU included) with `toArray` while
 * writing. The write is atomic (temp file, fsync, rename): on `Left` the old file at `path` is intact.
 */
export const saveSafetensors = async (path: string, named: NamedTensors, metadata: Readonly<Record<string, string>> = {}): Promise<E.Either<SaveError, SavedFile>> => {
  try {
    hostIsLittleEndian()
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') problem('unsupported', `metadata value for ${JSON.stringify(k)} must be a string, got ${typeof v}`)
    // 4-byte types first, bool last: every tensor then starts at an offset aligned to its element size.
    const entries = namedEntries(named)
    const ordered = [...entries.filter(([, t]) => t.dtype !== 'bool'), ...entries.filter(([, t]) => t.dtype === 'bool')]
    const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: { ...metadata } } : {}
    let at = 0
    for (const [name, t] of ordered) {
      const stored = storedOf[t.dtype]
      const bytes = size(t.shape) * itemSize[stored]
      header[name] = { dtype: stored, shape: [...t.shape], data_offsets: [at, at + bytes] }
      at += bytes
    }
    const json = JSON.stringify(header)
    const jsonBytes = Buffer.byteLength(json, 'utf8')
    // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    const padded = Buffer.alloc(Math.ceil(jsonBytes / 8) * 8, 0x20)
    padded.write(json, 0, 'utf8')
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(BigInt(padded.length))
    await writeFileAtomically(path, async (fh) => {
      await writeAll(fh, prefix)
      await writeAll(fh, padded)
      for (const [name, t] of ordered) {
        const data = await Promise.resolve(t).then(toArray).catch((e: unknown) => problem('io', `reading the tensor back failed: ${e instanceof Error ? e.message : String(e)}`, name))
        await writeAll(fh, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      }
    })
    return E.right({ kind: 'SavedFile', file: path, bytes: 8 + padded.length + at, tensors: ordered.length })
  } catch (e) {
    return E.left(toSaveError(path, e))
  }
}
