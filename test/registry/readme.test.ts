/**
 * The README section "Registering your own components" must work as written: its files (the blocks
 * headed `// file: NAME` or `# file: NAME`) are written to a scratch folder, the package import is
 * pointed at this checkout, and main.ts is run there.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const section = () => {
  const readme = readFileSync('README.md', 'utf8')
  const start = readme.indexOf('## Registering your own components')
  assert.ok(start >= 0, 'README has the section')
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
}

test('the README registration example runs: a user file registers a backbone that a YAML config names', async () => {
  const files = [...section().matchAll(/```(?:ts|yaml)\n(?:\/\/|#) file: (\S+)\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!] as const)
  assert.equal(files.map(([name]) => name), ['toy_backbone.ts', 'toy.yaml', 'main.ts'])
  const dir = mkdtempSync(join(resolve('test'), '.readme-registry-'))
  try {
    for (const [name, text] of files) writeFileSync(join(dir, name), text.replaceAll("from 'fovea'", `from '${resolve('index.ts')}'`))
    const output = await new Promise<string>((res, rej) =>
      execFile(process.execPath, ['--import', 'tsx', 'main.ts'], { cwd: dir, timeout: 120_000, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } }, (err, stdout, stderr) =>
        err ? rej(new Error(`${err.message}\n${stderr}`)) : res(stdout),
      ),
    )
    assert.is(output.trim(), 'ToyBackbone [ 1, 64, 4, 4 ] [ 1, 64, 4, 4 ] 0.01')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
