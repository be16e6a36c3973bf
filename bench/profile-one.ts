/**
 * Runs one side of one workload repeatedly with nothing else around it, for a profiler:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-one.ts W3 fovea 10
 *
 * (arguments: workload id, `fovea` or `tfjs`, repetitions). The .cpuprofile opens in Chrome DevTools.
 */
import * as F from '../index.js'
import { setUpTfjsCpu } from './tfjs-setup.js'
import { workloads } from './workloads.js'

const [id = 'W3', side = 'fovea', reps = '10'] = process.argv.slice(2)
const workload = workloads.find((w) => w.id === id.toUpperCase())
if (workload === undefined) throw new Error(`unknown workload ${id}; known: ${workloads.map((w) => w.id).join(', ')}`)
if (side !== 'fovea' && side !== 'tfjs') throw new Error(`side must be fovea or tfjs, got ${side}`)
await F.setBackend('cpu')
await setUpTfjsCpu()
const runner = workload.prepare()[side]
for (let i = 0; i < Number(reps); i++) await runner.run()
