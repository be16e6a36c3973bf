/**
 * A Python pickle reader for the subset checkpoints use (protocols 0-5 as torch.save, NumPy and Python 2
 * write them). It executes nothing: a GLOBAL resolves only through the caller's table of known
 * callables (torch's tensor rebuilders, NumPy's array reconstructors, OrderedDict); anything else fails
 * with the opcode or global named, so a hostile pickle cannot run code (the reason torch added
 * `weights_only`). Values come back as plain JS: None → null, int → number (bigint past 2^53),
 * str → string, bytes → Uint8Array, list and tuple → arrays, dict → Map (insertion order), set → Set.
 * Python 2 `str` (BINSTRING) is decoded as latin-1, as `pickle.load(f, encoding='latin1')` does.
 */
import { problem } from './errors.js'

/** A callable the caller allows: `call` receives the REDUCE/NEWOBJ argument tuple. */
export type PickleGlobal = {
  readonly kind: 'PickleGlobal'
  readonly module: string
  readonly name: string
  readonly call?: (args: readonly unknown[]) => unknown
}

export type PickleHooks = {
  /** Names the pickle in messages, e.g. `archive/data.pkl`. */
  readonly source: string
  /** Allowed globals keyed `module.name`. */
  readonly globals: ReadonlyMap<string, PickleGlobal>
  readonly persistentLoad?: (pid: unknown) => unknown
  /** BUILD (`__setstate__`): returns false when `obj` is not something it knows how to fill. */
  readonly setState?: (obj: unknown, state: unknown) => boolean
}

export const pickleGlobal = (module: string, name: string, call?: (args: readonly unknown[]) => unknown): PickleGlobal =>
  call === undefined ? { kind: 'PickleGlobal', module, name } : { kind: 'PickleGlobal', module, name, call }

export const isPickleGlobal = (x: unknown): x is PickleGlobal => typeof x === 'object' && x !== null && (x as PickleGlobal).kind === 'PickleGlobal'

const orderedDict = (args: readonly unknown[]): Map<unknown, unknown> => {
  const pairs = args[0]
  if (pairs === undefined || pairs === null) return new Map()
  if (pairs instanceof Map) return new Map(pairs)
  if (Array.isArray(pairs) && pairs.every((p) => Array.isArray(p) && p.length === 2)) return new Map(pairs as [unknown, unknown][])
  return problem('corrupt', `OrderedDict expects key/value pairs, got ${describePy(pairs)}`)
}

/** Latin-1 text to bytes: how Python 3 pickles `bytes` below protocol 3 (`_codecs.encode(s, 'latin1')`). */
export const latin1Bytes = (x: unknown, what: string): Uint8Array => {
  if (x instanceof Uint8Array) return x
  if (typeof x === 'string') return new Uint8Array(Buffer.from(x, 'latin1'))
  return problem('corrupt', `${what}: expected bytes, got ${describePy(x)}`)
}

/** Plain containers every checkpoint pickle may use, under Python 3 and Python 2 module names. */
export const containerGlobals = (): PickleGlobal[] => [
  pickleGlobal('collections', 'OrderedDict', orderedDict),
  ...['builtins', '__builtin__'].flatMap((m) => [
    pickleGlobal(m, 'set', (args) => new Set(Array.isArray(args[0]) ? args[0] : [])),
    pickleGlobal(m, 'frozenset', (args) => new Set(Array.isArray(args[0]) ? args[0] : [])),
    pickleGlobal(m, 'bytearray', (args) => latin1Bytes(args[0] ?? new Uint8Array(0), 'bytearray')),
  ]),
  pickleGlobal('_codecs', 'encode', (args) => latin1Bytes(args[0], '_codecs.encode')),
]

/** Table for `PickleHooks.globals`. */
export const globalTable = (globals: readonly PickleGlobal[]): ReadonlyMap<string, PickleGlobal> => new Map(globals.map((g) => [`${g.module}.${g.name}`, g]))

/** A short Python-ish description of a value, for messages. */
export const describePy = (x: unknown): string =>
  x === null ? 'None'
  : x instanceof Map ? 'dict'
  : Array.isArray(x) ? 'tuple/list'
  : x instanceof Uint8Array ? 'bytes'
  : isPickleGlobal(x) ? `${x.module}.${x.name}`
  : typeof x === 'object' && typeof (x as { kind?: unknown }).kind === 'string' ? String((x as { kind: string }).kind)
  : typeof x

const utf8 = new TextDecoder('utf-8')
const latin1 = new TextDecoder('latin1')

const signedLittleEndian = (b: Uint8Array): number | bigint => {
  if (b.length === 0) return 0
  let x = 0n
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!)
  if (b[b.length - 1]! & 0x80) x -= 1n << BigInt(8 * b.length)
  return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x
}

const parseIntText = (text: string): number | bigint => {
  const x = BigInt(text.replace(/L$/, ''))
  return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x
}

/** Python 2 `repr(str)` as protocol 0 STRING writes it: quotes and backslash escapes. */
const unquote = (text: string): string => {
  const body = text.slice(1, -1)
  return body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) =>
    e[0] === 'x' ? String.fromCharCode(parseInt(e.slice(1), 16)) : ({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[e] ?? e)
}

const rawUnicodeEscape = (text: string): string =>
  text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u?: string, U?: string) => String.fromCodePoint(parseInt(u ?? U!, 16)))

/** Runs the pickle in `data` and returns the object its STOP leaves. */
export const unpickle = (data: Uint8Array, hooks: PickleHooks): unknown => {
  const where = hooks.source
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let pos = 0
  const stack: unknown[] = []
  const marks: number[] = []
  const memo = new Map<number, unknown>()

  const need = (n: number): void => {
    if (n < 0 || pos + n > data.length) problem('truncated', `${where}: pickle ends at byte ${data.length} in the middle of an opcode at byte ${pos - 1}`)
  }
  const u8 = (): number => (need(1), data[pos++]!)
  const u16 = (): number => (need(2), (pos += 2), dv.getUint16(pos - 2, true))
  const u32 = (): number => (need(4), (pos += 4), dv.getUint32(pos - 4, true))
  const u64 = (): number => {
    need(8)
    const x = dv.getBigUint64(pos, true)
    pos += 8
    if (x > BigInt(data.length)) problem('truncated', `${where}: a length of ${x} bytes at byte ${pos - 8} runs past the end of the pickle`)
    return Number(x)
  }
  const take = (n: number): Uint8Array => (need(n), (pos += n), data.subarray(pos - n, pos))
  const line = (): string => {
    const end = data.indexOf(0x0a, pos)
    if (end < 0) problem('truncated', `${where}: pickle ends inside a text argument at byte ${pos}`)
    const text = latin1.decode(data.subarray(pos, end))
    pos = end + 1
    return text
  }
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) problem('corrupt', `${where}: pickle stack underflow at byte ${pos - 1}`)
    return stack.pop()
  }
  const top = (): unknown => {
    if (stack.length === 0) problem('corrupt', `${where}: pickle stack underflow at byte ${pos - 1}`)
    return stack[stack.length - 1]
  }
  const popMark = (): unknown[] => {
    const m = marks.pop()
    if (m === undefined) return problem('corrupt', `${where}: pickle has no MARK for the opcode at byte ${pos - 1}`)
    return stack.splice(m)
  }
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) problem('corrupt', `${where}: pickle memo has no entry ${i} (byte ${pos - 1})`)
    return memo.get(i)
  }
  const resolve = (module: string, name: string): PickleGlobal => {
    const g = hooks.globals.get(`${module}.${name}`)
    if (g === undefined) {
      problem('unsupported', `${where}: unsupported pickle global ${module}.${name} (byte ${pos}); fovea reads tensors, NumPy arrays and plain containers only`)
    }
    return g!
  }
  const call = (fn: unknown, args: unknown, opcode: string): unknown => {
    if (!isPickleGlobal(fn) || fn.call === undefined) return problem('unsupported', `${where}: ${opcode} of ${describePy(fn)} is not supported (byte ${pos - 1})`)
    if (!Array.isArray(args)) return problem('corrupt', `${where}: ${opcode} of ${fn.module}.${fn.name} expects an argument tuple, got ${describePy(args)}`)
    return fn.call(args)
  }
  const setItems = (target: unknown, items: readonly unknown[]): void => {
    if (!(target instanceof Map)) problem('corrupt', `${where}: SETITEMS on ${describePy(target)} at byte ${pos - 1}`)
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1])
  }
  const append = (target: unknown, items: readonly unknown[]): void => {
    if (!Array.isArray(target)) problem('corrupt', `${where}: APPENDS on ${describePy(target)} at byte ${pos - 1}`)
    ;(target as unknown[]).push(...items)
  }
  const persistent = (pid: unknown): unknown =>
    hooks.persistentLoad !== undefined ? hooks.persistentLoad(pid) : problem('unsupported', `${where}: persistent id ${describePy(pid)} at byte ${pos - 1} needs a loader (this pickle expects external storage)`)

  for (;;) {
    if (pos >= data.length) problem('truncated', `${where}: pickle ends at byte ${data.length} without a STOP opcode`)
    const op = data[pos++]!
    switch (op) {
      case 0x80: u8(); break // PROTO
      case 0x95: u64(); break // FRAME: framing is only a read-ahead hint
      case 0x2e: return pop() // STOP
      case 0x28: marks.push(stack.length); break // MARK
      case 0x30: pop(); break // POP
      case 0x31: popMark(); break // POP_MARK
      case 0x32: stack.push(top()); break // DUP
      case 0x4e: stack.push(null); break // NONE
      case 0x88: stack.push(true); break // NEWTRUE
      case 0x89: stack.push(false); break // NEWFALSE
      case 0x49: { const t = line(); stack.push(t === '01' ? true : t === '00' ? false : parseIntText(t)); break } // INT
      case 0x4a: need(4); stack.push(dv.getInt32(pos, true)); pos += 4; break // BININT
      case 0x4b: stack.push(u8()); break // BININT1
      case 0x4d: stack.push(u16()); break // BININT2
      case 0x4c: stack.push(parseIntText(line())); break // LONG
      case 0x8a: stack.push(signedLittleEndian(take(u8()))); break // LONG1
      case 0x8b: stack.push(signedLittleEndian(take(u32()))); break // LONG4
      case 0x46: stack.push(parseFloat(line())); break // FLOAT
      case 0x47: need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break // BINFLOAT (big-endian)
      case 0x53: stack.push(unquote(line())); break // STRING
      case 0x54: { need(4); const n = dv.getInt32(pos, true); pos += 4; stack.push(latin1.decode(take(n))); break } // BINSTRING
      case 0x55: stack.push(latin1.decode(take(u8()))); break // SHORT_BINSTRING
      case 0x56: stack.push(rawUnicodeEscape(line())); break // UNICODE
      case 0x58: stack.push(utf8.decode(take(u32()))); break // BINUNICODE
      case 0x8c: stack.push(utf8.decode(take(u8()))); break // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8.decode(take(u64()))); break // BINUNICODE8
      case 0x42: stack.push(take(u32())); break // BINBYTES
      case 0x43: stack.push(take(u8())); break // SHORT_BINBYTES
      case 0x8e: stack.push(take(u64())); break // BINBYTES8
      case 0x96: stack.push(take(u64())); break // BYTEARRAY8
      case 0x97: problem('unsupported', `${where}: out-of-band buffer (NEXT_BUFFER) at byte ${pos - 1}; re-pickle in band`); break
      case 0x98: break // READONLY_BUFFER: our bytes are never mutated
      case 0x5d: stack.push([]); break // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break // LIST
      case 0x61: { const x = pop(); append(top(), [x]); break } // APPEND
      case 0x65: { const xs = popMark(); append(top(), xs); break } // APPENDS
      case 0x29: stack.push([]); break // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break // TUPLE
      case 0x85: stack.push([pop()]); break // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break } // TUPLE3
      case 0x7d: stack.push(new Map()); break // EMPTY_DICT
      case 0x64: { const m = new Map(); setItems(m, popMark()); stack.push(m); break } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break } // SETITEM
      case 0x75: { const xs = popMark(); setItems(top(), xs); break } // SETITEMS
      case 0x8f: stack.push(new Set()); break // EMPTY_SET
      case 0x90: { const xs = popMark(); const s = top(); if (!(s instanceof Set)) problem('corrupt', `${where}: ADDITEMS on ${describePy(s)}`); xs.forEach((x) => (s as Set<unknown>).add(x)); break }
      case 0x91: stack.push(new Set(popMark())); break // FROZENSET
      case 0x63: { const module = line(); const name = line(); stack.push(resolve(module, name)); break } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); stack.push(resolve(String(module), String(name))); break } // STACK_GLOBAL
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args, 'REDUCE')); break }
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args, 'NEWOBJ')); break }
      case 0x92: { pop(); const args = pop(); const cls = pop(); stack.push(call(cls, args, 'NEWOBJ_EX')); break }
      case 0x62: { // BUILD
        const state = pop()
        const obj = top()
        if (hooks.setState?.(obj, state) === true) break
        // A dict subclass with instance attributes (torch's state_dict carries `_metadata`): attributes
        // do not hold tensors fovea needs, so they are dropped.
        if (obj instanceof Map) break
        problem('unsupported', `${where}: cannot set the state of ${describePy(obj)} (BUILD at byte ${pos - 1})`)
        break
      }
      case 0x70: memo.set(parseInt(line(), 10), top()); break // PUT
      case 0x71: memo.set(u8(), top()); break // BINPUT
      case 0x72: memo.set(u32(), top()); break // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break // MEMOIZE
      case 0x67: stack.push(memoGet(parseInt(line(), 10))); break // GET
      case 0x68: stack.push(memoGet(u8())); break // BINGET
      case 0x6a: stack.push(memoGet(u32())); break // LONG_BINGET
      case 0x50: stack.push(persistent(line())); break // PERSID
      case 0x51: stack.push(persistent(pop())); break // BINPERSID
      default:
        problem('unsupported', `${where}: unknown or unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') at byte ${pos - 1}`)
    }
  }
}
