/**
 * The README's example must run as written: its first TypeScript block is executed (with the package
 * import pointed at this checkout) and must finish without error.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

test('the README example runs', async () => {
  const readme = readFileSync('README.md', 'utf8')
  const block = readme.match(/```ts\n([\s\S]*?)```/)
  assert.ok(block, 'README has a ```ts block')
  const dir = mkdtempSync(join(resolve('test'), '.readme-'))
  const file = join(dir, 'example.ts')
  writeFileSync(file, block![1]!.replaceAll("from 'fovea'", `from '${resolve('index.ts')}'`))
  try {
    const output = await new Promise<string>((res, rej) =>
      execFile(process.execPath, ['--import', 'tsx', file], { timeout: 120_000, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } }, (err, stdout, stderr) => (err ? rej(new Error(`${err.message}\n${stderr}`)) : res(stdout))),
    )
    const losses = output.trim().split('\n').slice(0, 4).map((l) => Number(l.split(' ')[1]))
    assert.ok(losses[3]! < losses[0]! / 10, `the example should print a falling loss, got:\n${output}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
