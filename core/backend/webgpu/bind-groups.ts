/**
 * A cache of bind groups by the buffers they bind. Creating a bind group costs more host time than
 * recording the dispatch that uses it (~15–25 µs in Dawn's Node binding against ~2 µs), and the pool
 * hands the same buffers out again in the same order when a jitted program replays, so most dispatches
 * find their bind group here. The uniform block is bound at a dynamic offset, so the arena slot is not
 * part of the key. Entries that bind a destroyed buffer are dropped (`forget`), and the least recently
 * used go once the cache holds `capacity`.
 */
export type BindGroupCache = {
  /** The bind group for `buffers` (the first `inputs` read-only, the rest read-write) after the uniform block. */
  readonly get: (inputs: number, buffers: readonly GPUBuffer[]) => GPUBindGroup
  /** Drops every entry that binds `buffer` (call before destroying it). */
  readonly forget: (buffer: GPUBuffer) => void
  readonly size: () => number
  /** Bind groups created so far (cache misses). */
  readonly created: () => number
}

type Entry = { readonly group: GPUBindGroup; readonly buffers: readonly GPUBuffer[] }

export const createBindGroupCache = (
  device: GPUDevice,
  uniforms: GPUBuffer,
  uniformBytes: number,
  layoutFor: (inputs: number, outputs: number) => GPUBindGroupLayout,
  capacity = 8192,
): BindGroupCache => {
  const ids = new WeakMap<GPUBuffer, number>()
  let nextId = 0
  let created = 0
  const entries = new Map<string, Entry>()
  // For each buffer, the keys of the entries that bind it.
  const keysOf = new Map<GPUBuffer, Set<string>>()

  const idOf = (b: GPUBuffer): number => {
    let id = ids.get(b)
    if (id === undefined) ids.set(b, (id = nextId++))
    return id
  }

  const remove = (key: string): void => {
    const entry = entries.get(key)
    if (entry === undefined) return
    entries.delete(key)
    for (const b of entry.buffers) {
      const keys = keysOf.get(b)
      keys?.delete(key)
      if (keys?.size === 0) keysOf.delete(b)
    }
  }

  return {
    get: (inputs, buffers) => {
      let key = `${inputs}`
      for (const b of buffers) key += `,${idOf(b)}`
      const hit = entries.get(key)
      if (hit !== undefined) {
        // Map order is recency: move the entry to the end.
        entries.delete(key)
        entries.set(key, hit)
        return hit.group
      }
      created++
      const group = device.createBindGroup({
        layout: layoutFor(inputs, buffers.length - inputs),
        entries: [{ binding: 0, resource: { buffer: uniforms, offset: 0, size: uniformBytes } }, ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }))],
      })
      if (entries.size >= capacity) remove(entries.keys().next().value!)
      entries.set(key, { group, buffers })
      for (const b of buffers) {
        let keys = keysOf.get(b)
        if (keys === undefined) keysOf.set(b, (keys = new Set()))
        keys.add(key)
      }
      return group
    },
    forget: (buffer) => {
      for (const key of keysOf.get(buffer) ?? []) remove(key)
      keysOf.delete(buffer)
    },
    size: () => entries.size,
    created: () => created,
  }
}
