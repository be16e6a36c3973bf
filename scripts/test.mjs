// Runs every uvu suite under test/ (TypeScript through tsx) in one process and ends with the plain
// summary line "N passed, N failed, N skipped".
import { spawn } from 'node:child_process'

// An optional argument narrows the run to suites whose path matches it (e.g. `pool`, `ops/`).
const pattern = `(?:${process.argv[2] ?? ""}).*\\.test\\.ts$`
const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', pattern], { stdio: ['ignore', 'pipe', 'inherit'] })
let out = ''
child.stdout.on('data', (chunk) => {
  out += chunk
  process.stdout.write(chunk)
})
child.on('close', (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '')
  const num = (label) => Number((plain.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? 0)
  const [total, passed, skipped] = [num('Total'), num('Passed'), num('Skipped')]
  console.log(`${passed} passed, ${Math.max(0, total - passed - skipped)} failed, ${skipped} skipped`)
  process.exit(code ?? 1)
})
