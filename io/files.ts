/**
 * File plumbing shared by the formats: exact positioned reads (Node caps one read at 2 GiB, so large
 * tensors are read in chunks) and atomic replacement of a file.
 */
import { randomBytes } from 'node:crypto'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { problem } from './errors.js'

const chunk = 1 << 28

/** Fills `into` from `position`; a file that ends first is `truncated`, naming `what` was being read. */
export const readExactly = async (fh: FileHandle, into: Uint8Array, position: number, what: string): Promise<void> => {
  let done = 0
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, Math.min(chunk, into.length - done), position + done)
    if (bytesRead === 0) problem('truncated', `file ends after ${position + done} bytes while reading ${what} (${into.length} bytes from byte ${position})`)
    done += bytesRead
  }
}

export const writeAll = async (fh: FileHandle, bytes: Uint8Array): Promise<void> => {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(chunk, bytes.length - done))
    done += bytesWritten
  }
}

/**
 * Writes `path` so that readers see either the old file or the complete new one, never a half-written
 * checkpoint: the bytes go to a temporary file in the same directory (same file system, so `rename` is
 * atomic), are flushed to disk with fsync, and only then renamed over `path`. On any failure the temporary
 * file is removed and `path` is untouched. The directory is fsynced afterwards so the rename survives a
 * crash (best effort: not every file system allows it).
 */
export const writeFileAtomically = async (path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> => {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await open(temp, 'wx')
  try {
    await write(fh)
    await fh.sync()
    await fh.close()
    await rename(temp, path)
  } catch (e) {
    await fh.close().catch(() => undefined)
    await rm(temp, { force: true })
    throw e
  }
  try {
    const d = await open(dir, 'r')
    await d.sync().finally(() => d.close())
  } catch {
    // Directories cannot be fsynced everywhere (e.g. some network file systems); the data itself is synced.
  }
}
