// fovea's house rules that a type checker does not enforce: no `class` (declarations or expressions)
// and no `this` in our TypeScript sources. Parses each file with the TypeScript compiler, so strings
// and comments that mention the words do not count.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'

const roots = ['index.ts', 'core', 'ops', 'models', 'registry', 'io', 'data', 'train', 'cli', 'bench', 'examples', 'test']
const files = []
const walk = (p) => {
  let st
  try { st = statSync(p) } catch { return }
  if (st.isDirectory()) for (const e of readdirSync(p)) { if (e !== 'node_modules') walk(join(p, e)) }
  else if (/\.(ts|mts|tsx)$/.test(p) && !p.endsWith('.d.ts')) files.push(p)
}
roots.forEach(walk)

const problems = []
for (const file of files) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const visit = (node) => {
    const where = () => {
      const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source))
      return `${relative('.', file)}:${line + 1}:${character + 1}`
    }
    if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) problems.push(`${where()}: class ${node.name?.text ?? '(anonymous)'} — fovea uses records and functions, not classes`)
    if (node.kind === ts.SyntaxKind.ThisKeyword || node.kind === ts.SyntaxKind.ThisType) problems.push(`${where()}: \`this\` — pass the value explicitly`)
    ts.forEachChild(node, visit)
  }
  visit(source)
}
if (problems.length > 0) {
  console.error(problems.join('\n'))
  console.error(`lint: ${problems.length} problem(s) in ${files.length} files`)
  process.exit(1)
}
console.log(`lint: ${files.length} files, no classes, no this`)
