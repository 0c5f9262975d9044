// Cloud Functions entry point (package.json "main"): each deployed function loads only its own target,
// named by FUNCTION_TARGET, from the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const target = process.env.FUNCTION_TARGET;
if (!target || !/^[a-z][a-z0-9-]*$/.test(target))
  throw new Error(`FUNCTION_TARGET names no function: ${target}`);
await import(`./functions/${target}/index.ts`);
