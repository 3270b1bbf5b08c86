import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(`
const seen=new Set();
export async function resolve(s,c,next){const r=await next(s,c); if(!seen.has(r.url)){seen.add(r.url); process.stderr.write('M '+r.url+' <- '+(c.parentURL||'').replace('file:///work/wt/clispeed/','')+'\\n');} return r;}
`));
process.argv.splice(1, 1);
await import('./dag.js');
