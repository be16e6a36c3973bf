/**
 * PyTorch checkpoints as `torch.save` writes them since 1.6: a zip whose members sit under one folder
 * (`archive/` or the file's stem) — `data.pkl` (the pickled object, protocol 2), `byteorder`, `version`,
 * and one `data/<key>` member per storage holding its raw bytes. Inside `data.pkl` each tensor is
 * `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)` and each storage
 * is a persistent id `('storage', torch.FloatStorage, key, location, numel)`; tensors that view one
 * storage at different offsets or strides are copied out contiguously.
 */
import type * as E from 'fp-ts/Either'
import type { Tensor } from '../core/tensor.js'
import { fromTypedArray } from '../ops/creation.js'
import { type Checkpoint, makeCheckpoint } from './checkpoint.js'
import { type Conversion, type StoredDType, itemSize, toFovea } from './dtypes.js'
import { type LoadError, guardLoad, problem } from './errors.js'
import { type NdArray, isNdArray, numpyGlobals, numpySetState, storedArray } from './numpy-pickle.js'
import { type PickleGlobal, containerGlobals, describePy, globalTable, pickleGlobal, unpickle } from './pickle.js'
import { selectStateDict } from './state-dict.js'
import { type ZipArchive, type ZipEntry, openZip } from './zip.js'

type TorchStorage = { readonly kind: 'TorchStorage'; readonly dtype: StoredDType; readonly key: string; readonly numel: number }

type TorchTensor = {
  readonly kind: 'TorchTensor'
  readonly storage: TorchStorage
  readonly offset: number
  readonly shape: readonly number[]
  readonly strides: readonly number[]
}

const isTorchTensor = (x: unknown): x is TorchTensor => typeof x === 'object' && x !== null && (x as TorchTensor).kind === 'TorchTensor'

const storageTypes: Readonly<Record<string, StoredDType>> = {
  FloatStorage: 'F32', DoubleStorage: 'F64', HalfStorage: 'F16', BFloat16Storage: 'BF16', LongStorage: 'I64', IntStorage: 'I32',
  ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL', UntypedStorage: 'U8',
}

const ints = (x: unknown, what: string): number[] => {
  if (!Array.isArray(x) || !x.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) return problem('corrupt', `${what} is ${describePy(x)}, expected a tuple of non-negative ints`)
  return x as number[]
}

const rebuildTensor = (args: readonly unknown[]): TorchTensor => {
  const [storage, offset, shape, strides] = args
  if (typeof storage !== 'object' || storage === null || (storage as TorchStorage).kind !== 'TorchStorage') {
    return problem('corrupt', `_rebuild_tensor_v2 expects a storage, got ${describePy(storage)}`)
  }
  if (typeof offset !== 'number') return problem('corrupt', `_rebuild_tensor_v2 storage offset is ${describePy(offset)}`)
  return { kind: 'TorchTensor', storage: storage as TorchStorage, offset, shape: ints(shape, 'tensor size'), strides: ints(strides, 'tensor stride') }
}

const torchGlobals = (): PickleGlobal[] => [
  pickleGlobal('torch._utils', '_rebuild_tensor_v2', rebuildTensor),
  pickleGlobal('torch._utils', '_rebuild_tensor', rebuildTensor),
  // An nn.Parameter is its data plus requires_grad; fovea decides trainability by tree (params vs state).
  pickleGlobal('torch._utils', '_rebuild_parameter', (args) => args[0]),
  pickleGlobal('torch._utils', '_rebuild_parameter_with_state', (args) => args[0]),
  pickleGlobal('torch', 'Size', (args) => ints(args[0] ?? [], 'torch.Size')),
  pickleGlobal('torch', 'device', (args) => args.map(String).join(':')),
  ...Object.keys(storageTypes).map((name) => pickleGlobal('torch', name)),
  ...['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'].map((name) => pickleGlobal('torch', name)),
]

const persistentLoader = (source: string): ((pid: unknown) => TorchStorage) => {
  const seen = new Map<string, TorchStorage>()
  return (pid) => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) return problem('unsupported', `${source}: persistent id ${describePy(pid)} is not a torch storage`)
    const [, type, key, , numel] = pid as unknown[]
    const dtype = typeof type === 'object' && type !== null ? storageTypes[(type as PickleGlobal).name] : undefined
    if (dtype === undefined) return problem('unsupported', `${source}: storage type ${describePy(type)} is not supported`)
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) return problem('corrupt', `${source}: storage ${String(key)} has size ${describePy(numel)}`)
    const k = String(key)
    const storage = seen.get(k) ?? { kind: 'TorchStorage', dtype, key: k, numel }
    seen.set(k, storage)
    return storage
  }
}

/** The archive's `data.pkl`; other torch archive kinds are named in the refusal. */
const findDataPkl = (entries: ReadonlyMap<string, ZipEntry>): ZipEntry => {
  const names = [...entries.keys()]
  const pkl = names.filter((n) => /^([^/]+\/)?data\.pkl$/.test(n))
  if (pkl.length === 1) return entries.get(pkl[0]!)!
  if (pkl.length > 1) return problem('corrupt', `the archive has ${pkl.length} data.pkl members: ${pkl.join(', ')}`)
  if (names.some((n) => /(^|\/)constants\.pkl$/.test(n) || /(^|\/)code\//.test(n))) {
    return problem('unsupported', 'this is a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead')
  }
  return problem('unsupported', `zip archive without a data.pkl member (members: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}); not a torch.save file`)
}

const readStorage = async (zip: ZipArchive, prefix: string, s: TorchStorage, name: string): Promise<Uint8Array> => {
  const entry = zip.entries.get(`${prefix}data/${s.key}`)
  if (entry === undefined) return problem('truncated', `storage ${prefix}data/${s.key} is missing from the archive`, name)
  const bytes = await zip.read(entry)
  const want = s.numel * itemSize[s.dtype]
  if (bytes.length < want) problem('truncated', `storage ${prefix}data/${s.key} holds ${bytes.length} bytes but ${s.numel} ${s.dtype} elements need ${want}`, name)
  return bytes
}

/**
 * Reads a PyTorch `.pth`/`.pt` checkpoint (zip format). The state dict is found by the conventions in
 * io/state-dict.ts (`model`, `state_dict`, or the top level); only the storages those tensors use are
 * read. Stored types are converted by the policy in io/dtypes.ts. A damaged archive, an unknown pickle
 * opcode or global, or a missing storage yields `Left` naming the file and the member.
 */
export const loadPth = (path: string): Promise<E.Either<LoadError, Checkpoint>> =>
  guardLoad(path, async () => {
    const zip = await openZip(path)
    try {
      const pklEntry = findDataPkl(zip.entries)
      const prefix = pklEntry.name.slice(0, -'data.pkl'.length)
      const orderEntry = zip.entries.get(`${prefix}byteorder`)
      const order = orderEntry === undefined ? 'little' : new TextDecoder().decode(await zip.read(orderEntry)).trim()
      if (order !== 'little' && order !== 'big') problem('corrupt', `${prefix}byteorder says ${JSON.stringify(order)}`)
      const root = unpickle(await zip.read(pklEntry), {
        source: pklEntry.name,
        globals: globalTable([...containerGlobals(), ...numpyGlobals(), ...torchGlobals()]),
        persistentLoad: persistentLoader(pklEntry.name),
        setState: numpySetState,
      })
      const selected = selectStateDict(root, (x) => isTorchTensor(x) || isNdArray(x))
      const storages = new Map<string, Uint8Array>()
      const tensors = new Map<string, Tensor>()
      const conversions: Conversion[] = []
      for (const [name, leaf] of selected.entries) {
        let out
        if (isTorchTensor(leaf)) {
          const s = leaf.storage
          const bytes = storages.get(s.key) ?? (await readStorage(zip, prefix, s, name))
          storages.set(s.key, bytes)
          const view = { dtype: s.dtype, shape: leaf.shape, strides: leaf.strides, offset: leaf.offset, littleEndian: order === 'little' }
          out = toFovea(name, { ...view, bytes: bytes.subarray(0, s.numel * itemSize[s.dtype]) })
        } else {
          out = toFovea(name, storedArray(leaf as NdArray, name))
        }
        if (out.conversion !== undefined) conversions.push(out.conversion)
        tensors.set(name, fromTypedArray(out.data, isTorchTensor(leaf) ? leaf.shape : (leaf as NdArray).shape, out.dtype))
      }
      return makeCheckpoint('pth', path, tensors, selected.metadata, conversions, selected.notes)
    } finally {
      await zip.close()
    }
  })
