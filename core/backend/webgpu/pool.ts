/**
 * GPU buffer pool with live-byte accounting. Buffers are rounded up to size classes (256-byte steps up
 * to 4 KiB, then eight steps per power of two, so waste stays under 12.5%) and recycled. A released
 * buffer only becomes reusable after the commands recorded so far are submitted (`settle`), so a pending
 * dispatch can never read data written into its buffer by a later upload.
 *
 * GPU memory held = live + pending (released, awaiting the next submit) + pooled (free, reusable).
 * The runtime bounds pending by submitting early when it grows large; the pool bounds pooled by
 * destroying the buffers of the least recently used size classes first, so a program whose working set
 * changes (a new image size, a new batch size) does not keep the old one's buffers forever.
 */
export type Pool = {
  readonly acquire: (bytes: number) => GPUBuffer
  readonly release: (buffer: GPUBuffer) => void
  /** Makes released buffers reusable; call right after submitting the pending commands. */
  readonly settle: () => void
  readonly liveBytes: () => number
  readonly pooledBytes: () => number
  /** Bytes released since the last `settle` (not reusable yet, still allocated). */
  readonly pendingBytes: () => number
  /** Buffers released since the last `settle`. */
  readonly pendingCount: () => number
  /** Destroys free buffers, least recently used size classes first, until at most `keepBytes` remain. */
  readonly trim: (keepBytes?: number) => void
  /** Registers `fn` to be told of each buffer just before the pool destroys it (caches that bind it). */
  readonly onDestroy: (fn: (buffer: GPUBuffer) => void) => void
}

export const sizeClass = (bytes: number): number => {
  const b = Math.max(16, bytes)
  if (b <= 4096) return Math.ceil(b / 256) * 256
  const step = 2 ** Math.floor(Math.log2(b)) / 8
  return Math.ceil(b / step) * step
}

const USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST

export const createPool = (device: GPUDevice, maxPooledBytes = 1 << 30): Pool => {
  // Insertion order of the map is recency of use: a class is moved to the end whenever it is used.
  const free = new Map<number, GPUBuffer[]>()
  let pending: GPUBuffer[] = []
  let live = 0
  let pooled = 0
  let pendingTotal = 0
  const destroyListeners: ((buffer: GPUBuffer) => void)[] = []

  const touch = (size: number, list: GPUBuffer[]): void => {
    free.delete(size)
    free.set(size, list)
  }

  const trim = (keepBytes = 0): void => {
    for (const [size, list] of free) {
      while (pooled > keepBytes && list.length > 0) {
        const buffer = list.pop()!
        for (const fn of destroyListeners) fn(buffer)
        buffer.destroy()
        pooled -= size
      }
      if (list.length === 0) free.delete(size)
      if (pooled <= keepBytes) return
    }
  }

  return {
    acquire: (bytes) => {
      const size = sizeClass(bytes)
      const list = free.get(size)
      const reuse = list?.pop()
      live += size
      if (reuse !== undefined) {
        pooled -= size
        touch(size, list!)
        return reuse
      }
      return device.createBuffer({ size, usage: USAGE() })
    },
    release: (buffer) => {
      live -= buffer.size
      pendingTotal += buffer.size
      pending.push(buffer)
    },
    settle: () => {
      for (const buffer of pending) {
        pooled += buffer.size
        const list = free.get(buffer.size) ?? []
        list.push(buffer)
        touch(buffer.size, list)
      }
      pending = []
      pendingTotal = 0
      if (pooled > maxPooledBytes) trim(maxPooledBytes)
    },
    liveBytes: () => live,
    pooledBytes: () => pooled,
    pendingBytes: () => pendingTotal,
    pendingCount: () => pending.length,
    trim,
    onDestroy: (fn) => void destroyListeners.push(fn),
  }
}

/** Readback buffers (MAP_READ | COPY_DST), recycled by size class. */
export type StagingPool = {
  readonly acquire: (bytes: number) => GPUBuffer
  /** Returns an unmapped buffer for reuse. */
  readonly release: (buffer: GPUBuffer) => void
  readonly pooledBytes: () => number
}

/**
 * A fresh mappable buffer per readback costs its allocation and the page faults of first touch on every
 * call (about a third of a 16 MiB readback on lavapipe); these are kept instead, oldest destroyed first
 * once more than `maxPooledBytes` wait unused.
 */
export const createStagingPool = (device: GPUDevice, maxPooledBytes = 128 << 20): StagingPool => {
  const free: GPUBuffer[] = []
  let pooled = 0
  return {
    acquire: (bytes) => {
      const size = sizeClass(bytes)
      const i = free.findIndex((b) => b.size === size)
      if (i < 0) return device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
      pooled -= size
      return free.splice(i, 1)[0]!
    },
    release: (buffer) => {
      free.push(buffer)
      pooled += buffer.size
      while (pooled > maxPooledBytes) {
        const oldest = free.shift()!
        pooled -= oldest.size
        oldest.destroy()
      }
    },
    pooledBytes: () => pooled,
  }
}
