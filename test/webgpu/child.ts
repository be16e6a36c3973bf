/**
 * Runs a snippet of ES module code in a fresh Node process (TypeScript imports through tsx), for what
 * cannot be tested inside the runner: a destroyed device, a hidden GPU driver, a fresh V8 heap, whether
 * the process exits by itself. `ROOT` in the code is replaced by the repository root.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

export type ChildResult = { readonly code: number | null; readonly stdout: string; readonly stderr: string; readonly ms: number; readonly timedOut: boolean }

export const runChild = (code: string, env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<ChildResult> =>
  new Promise((resolve) => {
    const start = Date.now()
    const childEnv = { ...process.env, ...env }
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k]
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code.replaceAll('ROOT', root)],
      { cwd: root, env: childEnv, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const timedOut = err !== null && (err as { killed?: boolean }).killed === true
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr, ms: Date.now() - start, timedOut })
      })
  })

/** The last line of `stdout` that parses as a JSON object. */
export const lastJson = <T>(stdout: string): T => {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('{'))
  if (line === undefined) throw new Error(`no JSON line in the child's output:\n${stdout}`)
  return JSON.parse(line) as T
}
