#!/usr/bin/env node
// Registers the TypeScript loader, so definitions files (and this CLI) run with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);
