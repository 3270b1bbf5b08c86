#!/usr/bin/env node
// Registers the TypeScript loader, so definitions files (and this CLI) run with no build step.
import { register } from 'tsx/esm/api';

register();
const { redactStandardStreams } = await import('@dag/core');
// What user code prints in this process (a materialize, an execute-run) is redacted too.
redactStandardStreams();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);
