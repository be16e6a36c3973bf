/**
 * Finding the state dict inside an unpickled checkpoint. The conventions, in the order tried:
 * detectron2 saves `{"model": state_dict, "__author__": …, "matching_heuristics": …}` (`.pkl`, and its
 * `.pth` training checkpoints add "optimizer", "scheduler", "iteration"); mmdetection saves
 * `{"meta": …, "state_dict": …}`; Detectron 1 / Caffe2 `.pkl` files hold `{"blobs": …}`; torchvision and
 * plain `torch.save(model.state_dict())` files are the state dict itself.
 */
import { problem } from './errors.js'
import { describePy } from './pickle.js'

export type Selected = {
  readonly entries: readonly (readonly [string, unknown])[]
  readonly metadata: Readonly<Record<string, string>>
  readonly notes: readonly string[]
}

/** `torch.save` before PyTorch 1.6 began with this pickled integer. */
const legacyTorchMagic = 0x1950a86a20f9469cfc6cn

const containerKeys = ['model', 'state_dict', 'blobs'] as const

const isScalar = (x: unknown): x is string | number | bigint | boolean => ['string', 'number', 'bigint', 'boolean'].includes(typeof x)

/**
 * The named array leaves of the state dict in `root` (dotted names through nested dicts), the top-level
 * scalars as metadata, and notes on what was skipped or noticed. `isArray` says which leaves are tensors.
 */
export const selectStateDict = (root: unknown, isArray: (x: unknown) => boolean): Selected => {
  if (root === legacyTorchMagic) {
    problem('unsupported', 'this is the legacy torch.save format (PyTorch < 1.6); re-save it with a current PyTorch (torch.save writes the zip format by default)')
  }
  if (!(root instanceof Map)) return problem('unsupported', `expected a dict of tensors, found ${isArray(root) ? 'a single tensor' : describePy(root)}`)
  const chosenKey = containerKeys.find((k) => root.get(k) instanceof Map)
  const dict = chosenKey === undefined ? root : (root.get(chosenKey) as Map<unknown, unknown>)
  const metadata: Record<string, string> = {}
  const notes: string[] = []
  if (chosenKey !== undefined) {
    for (const [k, v] of root) if (typeof k === 'string' && k !== chosenKey && isScalar(v)) metadata[k] = String(v)
    const others = [...root.keys()].filter((k) => k !== chosenKey && !isScalar(root.get(k)))
    notes.push(`tensors from the ${JSON.stringify(chosenKey)} entry${others.length > 0 ? `; ignored: ${others.map(String).join(', ')}` : ''}`)
  }
  if (chosenKey === 'blobs') notes.push('Caffe2 (Detectron 1) blob names: rename them to state-dict names before loadInto')
  if (root.get('matching_heuristics') === true) {
    notes.push('the file asks for detectron2 matching heuristics (suffix matching of names); fovea matches names exactly, see the load report')
  }
  const entries: [string, unknown][] = []
  const skipped: string[] = []
  const walk = (d: Map<unknown, unknown>, prefix: string): void => {
    for (const [k, v] of d) {
      const name = `${prefix}${String(k)}`
      if (isArray(v)) entries.push([name, v])
      else if (v instanceof Map) walk(v, `${name}.`)
      else if (!(d === root && chosenKey === undefined && isScalar(v))) skipped.push(name)
      if (d === root && chosenKey === undefined && isScalar(v) && typeof k === 'string') metadata[k] = String(v)
    }
  }
  walk(dict, '')
  if (skipped.length > 0) notes.push(`skipped ${skipped.length} non-tensor entr${skipped.length === 1 ? 'y' : 'ies'}: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}`)
  return { entries, metadata, notes }
}
