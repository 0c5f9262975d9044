#!/usr/bin/env node
// `pipeline run …` as the runbook writes it: the same program as `arco pipeline run …`.
import { tsImport } from 'tsx/esm/api';

process.env.ARCO_CLI_AS = 'pipeline';
await tsImport('../cli/arco.ts', import.meta.url);
