// Preloaded into a process under test (`node --import test/helpers/record-imports.ts …`): records the
// URL of every module the process loads (ESM and CommonJS, node_modules included) and writes them, one a
// line, to the file named by VMOPS_RECORD_IMPORTS when the process exits. What a start-up loads is then
// asserted as data (test/integration/startup-imports.test.ts).
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env.VMOPS_RECORD_IMPORTS;
const loaded: string[] = [];
if (out) {
  registerHooks({
    load(url, context, nextLoad) {
      loaded.push(url);
      return nextLoad(url, context);
    },
  });
  process.on('exit', () => writeFileSync(out, `${loaded.join('\n')}\n`));
}
