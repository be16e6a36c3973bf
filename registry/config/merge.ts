/**
 * Laying a validated partial tree over a full config. Sections merge key by key; leaves (lists included)
 * are replaced whole, as in both detectron2 and mmdetection. mmdetection's `_delete_: true` inside a
 * section means "do not merge into what the bases said": with a fixed schema the section starts again
 * from its defaults and then takes the keys given next to `_delete_`.
 */
import { defaultsOf, type NodeSpec } from './spec.js'
import { DELETE_KEY, type PartialTree } from './validate.js'

type Tree = { readonly [key: string]: unknown }

/** A new tree: `base` with `partial` merged in (neither input is changed). */
export const mergePartial = (spec: NodeSpec, base: Tree, partial: PartialTree): Tree => {
  const start: Tree = partial[DELETE_KEY] === true ? (defaultsOf(spec) as Tree) : base
  const out: Record<string, unknown> = { ...start }
  for (const [k, v] of Object.entries(partial)) {
    if (k === DELETE_KEY) continue
    const field = spec.fields[k]!
    out[k] = field.kind === 'node' ? mergePartial(field, (start[k] ?? defaultsOf(field)) as Tree, v as PartialTree) : v
  }
  return out
}
