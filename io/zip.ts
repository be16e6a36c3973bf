/**
 * A read-only zip reader, enough for the archives `torch.save` writes (PyTorch ≥ 1.6): the central
 * directory at the end of the file lists the members; each member is stored (torch's own writer, with its
 * data padded to 64-byte alignment through the local header's extra field) or deflated (archives re-zipped
 * by other tools). Zip64 records are understood, since torch switches to them past 4 GiB. Members are read
 * on demand with positioned reads, so a large checkpoint is never held in memory twice.
 */
import { type FileHandle, open } from 'node:fs/promises'
import * as zlib from 'node:zlib'
import { promisify } from 'node:util'
import { problem } from './errors.js'
import { readExactly } from './files.js'

export type ZipEntry = {
  readonly name: string
  readonly method: number
  readonly flags: number
  readonly crc32: number
  readonly compressedSize: number
  readonly size: number
  readonly localHeaderOffset: number
}

export type ZipArchive = {
  readonly entries: ReadonlyMap<string, ZipEntry>
  readonly read: (entry: ZipEntry) => Promise<Uint8Array>
  readonly close: () => Promise<void>
}

const eocdSignature = 0x06054b50
const zip64LocatorSignature = 0x07064b50
const zip64EocdSignature = 0x06064b50
const centralSignature = 0x02014b50
const localSignature = 0x04034b50
const maxComment = 0xffff

const inflateRaw = promisify(zlib.inflateRaw)
const crc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength)

const u64 = (v: DataView, at: number, what: string): number => {
  const x = v.getBigUint64(at, true)
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) problem('corrupt', `zip ${what} ${x} is out of range`)
  return Number(x)
}

const readAt = async (fh: FileHandle, position: number, length: number, what: string): Promise<Uint8Array> => {
  const out = new Uint8Array(length)
  await readExactly(fh, out, position, what)
  return out
}

/** Finds the end-of-central-directory record: within the last 64 KiB + 22 bytes (a trailing comment). */
const findEocd = (tail: Uint8Array): number => {
  const v = view(tail)
  for (let i = tail.length - 22; i >= 0; i--) if (v.getUint32(i, true) === eocdSignature) return i
  return problem('truncated', 'no zip end-of-central-directory record (not a zip archive, or the file is truncated)')
}

type Directory = { readonly offset: number; readonly bytes: number; readonly count: number }

const readDirectoryLocation = async (fh: FileHandle, fileBytes: number): Promise<Directory> => {
  const tailLength = Math.min(fileBytes, maxComment + 22)
  const tailStart = fileBytes - tailLength
  const tail = await readAt(fh, tailStart, tailLength, 'the zip directory record')
  const at = findEocd(tail)
  const v = view(tail)
  let dir: Directory = { count: v.getUint16(at + 10, true), bytes: v.getUint32(at + 12, true), offset: v.getUint32(at + 16, true) }
  if (at >= 20 && v.getUint32(at - 20, true) === zip64LocatorSignature) {
    const eocd64At = u64(v, at - 20 + 8, 'zip64 record offset')
    const rec = view(await readAt(fh, eocd64At, 56, 'the zip64 directory record'))
    if (rec.getUint32(0, true) !== zip64EocdSignature) problem('corrupt', 'zip64 locator does not point at a zip64 directory record')
    dir = { count: u64(rec, 32, 'entry count'), bytes: u64(rec, 40, 'directory size'), offset: u64(rec, 48, 'directory offset') }
  }
  if (dir.offset + dir.bytes > fileBytes) problem('truncated', `zip central directory [${dir.offset}, ${dir.offset + dir.bytes}) lies beyond the end of the ${fileBytes}-byte file`)
  return dir
}

/** The zip64 extended-information extra field (id 1) replaces the 32-bit fields that read 0xffffffff. */
const applyZip64 = (extra: DataView, entry: { size: number; compressedSize: number; localHeaderOffset: number }): void => {
  for (let at = 0; at + 4 <= extra.byteLength; ) {
    const id = extra.getUint16(at, true)
    const length = extra.getUint16(at + 2, true)
    if (id === 1) {
      let p = at + 4
      const next = (what: string): number => {
        if (p + 8 > at + 4 + length) problem('corrupt', `zip64 extra field is too short for the ${what}`)
        const x = u64(extra, p, what)
        p += 8
        return x
      }
      if (entry.size === 0xffffffff) entry.size = next('size')
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next('compressed size')
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next('local header offset')
    }
    at += 4 + length
  }
}

const parseDirectory = (bytes: Uint8Array, count: number): Map<string, ZipEntry> => {
  const v = view(bytes)
  const entries = new Map<string, ZipEntry>()
  const decoder = new TextDecoder('utf-8')
  let at = 0
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || v.getUint32(at, true) !== centralSignature) problem('corrupt', `zip central directory entry ${i} is damaged`)
    const nameLength = v.getUint16(at + 28, true)
    const extraLength = v.getUint16(at + 30, true)
    const commentLength = v.getUint16(at + 32, true)
    if (at + 46 + nameLength + extraLength > bytes.length) problem('corrupt', `zip central directory entry ${i} runs past the directory`)
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength))
    const entry = {
      name,
      flags: v.getUint16(at + 8, true),
      method: v.getUint16(at + 10, true),
      crc32: v.getUint32(at + 16, true),
      compressedSize: v.getUint32(at + 20, true),
      size: v.getUint32(at + 24, true),
      localHeaderOffset: v.getUint32(at + 42, true),
    }
    applyZip64(new DataView(bytes.buffer, bytes.byteOffset + at + 46 + nameLength, extraLength), entry)
    entries.set(name, entry)
    at += 46 + nameLength + extraLength + commentLength
  }
  return entries
}

const readEntry = async (fh: FileHandle, fileBytes: number, e: ZipEntry): Promise<Uint8Array> => {
  if (e.flags & 1) problem('unsupported', `zip member ${e.name} is encrypted`)
  if (e.method !== 0 && e.method !== 8) problem('unsupported', `zip member ${e.name} uses compression method ${e.method} (fovea reads stored and deflated members)`)
  const local = view(await readAt(fh, e.localHeaderOffset, 30, `the local header of ${e.name}`))
  if (local.getUint32(0, true) !== localSignature) problem('corrupt', `zip member ${e.name} has no local header at byte ${e.localHeaderOffset}`)
  // The local extra field differs from the central one (torch pads it to align the data), so use its own length.
  const dataStart = e.localHeaderOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true)
  if (dataStart + e.compressedSize > fileBytes) problem('truncated', `zip member ${e.name} needs bytes up to ${dataStart + e.compressedSize} but the file has ${fileBytes}`)
  const raw = await readAt(fh, dataStart, e.compressedSize, `zip member ${e.name}`)
  let data = raw
  if (e.method === 8) {
    try {
      const out = await inflateRaw(raw)
      data = new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
    } catch (err) {
      problem('corrupt', `zip member ${e.name} does not inflate (${(err as Error).message})`)
    }
  }
  if (data.length !== e.size) problem('corrupt', `zip member ${e.name} holds ${data.length} bytes but the directory says ${e.size}`)
  if (crc32 !== undefined && (crc32(data) >>> 0) !== e.crc32) problem('corrupt', `zip member ${e.name} fails its CRC-32 check`)
  return data
}

/** Opens a zip archive; the caller must `close()` it. Throws a `CheckpointProblem` for a damaged file. */
export const openZip = async (path: string): Promise<ZipArchive> => {
  const fh = await open(path, 'r')
  try {
    const fileBytes = (await fh.stat()).size
    const dir = await readDirectoryLocation(fh, fileBytes)
    const entries = parseDirectory(await readAt(fh, dir.offset, dir.bytes, 'the zip central directory'), dir.count)
    return { entries, read: (e) => readEntry(fh, fileBytes, e), close: () => fh.close() }
  } catch (e) {
    await fh.close()
    throw e
  }
}
