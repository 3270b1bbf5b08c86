const c = () => { const u = process.cpuUsage(); return ((u.user + u.system) / 1000); };
const { register } = await import('node:module');
const t1 = c();
if (process.argv[2] === 'trivial') register('../../core/dist/workspace/dist-conditions.js', import.meta.url);
if (process.argv[2] === 'tsx') (await import('tsx/esm/api')).register();
if (process.argv[2] === 'esbuild') { const e = await import('esbuild'); e.transformSync('const a: number = 1', { loader: 'ts' }); }
if (process.argv[2] === 'import-esbuild') { const e = await import('esbuild'); }
await import('node:fs'); // force a hooked resolution
const t2 = c();
console.log(process.argv[2], (t2 - t1).toFixed(0), 'total', c().toFixed(0));
