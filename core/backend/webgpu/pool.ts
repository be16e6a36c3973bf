/**
 * GPU buffer pool with live-byte accounting. Buffers are rounded up to size classes (256-byte steps up
 * to 4 KiB, then eight steps per power of two, so waste stays under 12.5%) and recycled. A released
 * buffer only becomes reusable after the commands recorded so far are submitted (`settle`), so a pending
 * dispatch can never read data written into its buffer by a later upload.
 */
export type Pool = {
  readonly acquire: (bytes: number) => GPUBuffer
  readonly release: (buffer: GPUBuffer) => void
  /** Makes released buffers reusable; call right after submitting the pending commands. */
  readonly settle: () => void
  readonly liveBytes: () => number
  readonly pooledBytes: () => number
}

export const sizeClass = (bytes: number): number => {
  const b = Math.max(16, bytes)
  if (b <= 4096) return Math.ceil(b / 256) * 256
  const step = 2 ** Math.floor(Math.log2(b)) / 8
  return Math.ceil(b / step) * step
}

const USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST

export const createPool = (device: GPUDevice, maxPooledBytes = 1 << 30): Pool => {
  const free = new Map<number, GPUBuffer[]>()
  let pending: GPUBuffer[] = []
  let live = 0
  let pooled = 0
  return {
    acquire: (bytes) => {
      const size = sizeClass(bytes)
      const reuse = free.get(size)?.pop()
      live += size
      if (reuse !== undefined) {
        pooled -= size
        return reuse
      }
      return device.createBuffer({ size, usage: USAGE() })
    },
    release: (buffer) => {
      live -= buffer.size
      pending.push(buffer)
    },
    settle: () => {
      for (const buffer of pending) {
        if (pooled + buffer.size > maxPooledBytes) {
          buffer.destroy()
          continue
        }
        pooled += buffer.size
        const list = free.get(buffer.size)
        if (list === undefined) free.set(buffer.size, [buffer])
        else list.push(buffer)
      }
      pending = []
    },
    liveBytes: () => live,
    pooledBytes: () => pooled,
  }
}
