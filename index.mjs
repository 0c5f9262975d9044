// Cloud Functions entry point (package.json "main"): each deployed function loads only its own bundle,
// named by FUNCTION_TARGET, which the build (`npm run build`, run by Cloud Build as `gcp-build`) wrote
// to dist/{target}/index.js. Nothing is compiled at start.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const target = process.env.FUNCTION_TARGET;
if (!target || !/^[a-z][a-z0-9-]*$/.test(target))
  throw new Error(`FUNCTION_TARGET names no function: ${target}`);
const bundle = new URL(`./dist/${target}/index.js`, import.meta.url);
if (!existsSync(bundle))
  throw new Error(`no build of ${target}: run \`npm run build\` (dist/${target}/index.js)`);
await import(bundle.href);
