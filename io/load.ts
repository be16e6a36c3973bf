/**
 * One entry point for every checkpoint format: `loadCheckpoint(path)` looks at the first bytes (a zip is
 * a torch.save archive, a pickle PROTO opcode is a `.pkl`, a plausible header length followed by `{` is
 * safetensors) and falls back to the extension, so a misnamed file still loads.
 */
import * as E from 'fp-ts/Either'
import { open } from 'node:fs/promises'
import { extname } from 'node:path'
import type { Checkpoint, CheckpointFormat } from './checkpoint.js'
import { type LoadError, loadError, toLoadError } from './errors.js'
import { loadPkl } from './pkl.js'
import { loadPth } from './pth.js'
import { loadSafetensors } from './safetensors.js'

const sniff = (head: Uint8Array, fileBytes: number): CheckpointFormat | undefined => {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pth'
  if (head.length >= 9 && head[8] === 0x7b) {
    const headerBytes = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true)
    if (headerBytes <= BigInt(fileBytes - 8)) return 'safetensors'
  }
  if (head.length >= 2 && head[0] === 0x80 && head[1]! <= 5) return 'pkl'
  return undefined
}

const byExtension: Readonly<Record<string, CheckpointFormat>> = { '.safetensors': 'safetensors', '.pth': 'pth', '.pt': 'pth', '.bin': 'pth', '.pkl': 'pkl' }

/** The format of the file at `path`, by content first and extension second. */
export const detectFormat = async (path: string): Promise<E.Either<LoadError, CheckpointFormat>> => {
  try {
    const fh = await open(path, 'r')
    try {
      const head = new Uint8Array(16)
      const { bytesRead } = await fh.read(head, 0, 16, 0)
      const format = sniff(head.subarray(0, bytesRead), (await fh.stat()).size) ?? byExtension[extname(path).toLowerCase()]
      return format === undefined
        ? E.left(loadError(path, 'unsupported', 'not a recognized checkpoint (expected safetensors, a torch.save zip, or a pickle)'))
        : E.right(format)
    } finally {
      await fh.close()
    }
  } catch (e) {
    return E.left(toLoadError(path, e))
  }
}

/**
 * Loads a checkpoint in any supported format (safetensors, PyTorch `.pth`, detectron2 `.pkl`); see each
 * loader for what it accepts. `Left` carries the file, the reason and, where known, the key.
 */
export const loadCheckpoint = async (path: string): Promise<E.Either<LoadError, Checkpoint>> => {
  const format = await detectFormat(path)
  if (E.isLeft(format)) return format
  switch (format.right) {
    case 'safetensors':
      return loadSafetensors(path)
    case 'pth':
      return loadPth(path)
    case 'pkl':
      return loadPkl(path)
    default:
      return format.right satisfies never
  }
}
