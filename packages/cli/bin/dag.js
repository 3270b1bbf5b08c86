#!/usr/bin/env node
// Runs the JavaScript compiled into the packages' dist/ (built at install time and rebuilt
// here first if a source changed since; see build-dist.js). Users' definitions files need no
// build step: the TypeScript loader is registered when the first one is loaded.
// DAG_FROM_SOURCE=1 runs the TypeScript sources through tsx instead.
import module from 'node:module';
import { ensureDist } from './build-dist.js';

// Node >= 22.1 keeps V8's compiled code of every module on disk between commands (compiling
// the modules is a large part of a start); Node 20 has no such cache, and this does nothing.
module.enableCompileCache?.();

const fromSource = process.env.DAG_FROM_SOURCE === '1' || !(await ensureDist());
if (fromSource) (await import('tsx/esm/api')).register();
const core = fromSource ? '@dag/core' : '../../core/dist/index.js';
const { redactStandardStreams } = await import(core);
// What user code prints in this process (a materialize, an execute-run) is redacted too.
redactStandardStreams();
const { main } = await import(fromSource ? '../src/main.ts' : '../dist/main.js');
process.exitCode = await main(process.argv);
