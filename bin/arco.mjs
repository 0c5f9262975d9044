#!/usr/bin/env node
import { tsImport } from 'tsx/esm/api';

await tsImport('../cli/arco.ts', import.meta.url);
