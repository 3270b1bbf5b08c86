/**
 * Download and upload of the 1,000 corpus PNGs on one local s3rver (loopback). Downloads: the
 * object store as ds_r2_download uses it (lean SigV4 GET on Node's HTTP agent, 64 in flight, the
 * object's metadata taken from the GET's response), the same at 16 in flight, the AWS SDK v3 GET
 * path at 64, and the asset's previous way (SDK, 16 in flight, a HEAD after every GET) as the
 * reference; against boto3 sequential `download_file` and `rclone copy` with `--transfers 16`
 * (the target's anchor) and 64. Uploads: the object store (AWS SDK v3) 16 in flight vs boto3
 * sequential `upload_file` vs `rclone copy --transfers 16`. Medians of BENCH_ROUNDS (3) rounds in
 * rotation. With BENCH_LATENCY_MS=30 every client talks to s3rver through a loopback proxy that
 * delays each request by 30 ms. BENCH_SKIP_BOTO3=1 leaves boto3 out.
 *
 *   node --import tsx bench/ds/bucket-transfer.ts
 *   BENCH_LATENCY_MS=30 node --import tsx bench/ds/bucket-transfer.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createObjectStore, type ObjectStore, S3ObjectStore } from '@dag/object-store';
import { S3RVER_ACCESS_KEY_ID, startS3rver } from '../../packages/object-store/test/start-s3rver.ts';
import { mapBounded } from '../../pipelines/ds/src/lib/map-bounded.ts';
import {
  CORPUS,
  type Contender,
  childPids,
  dirBytes,
  machine,
  PYTHON,
  processCpuMs,
  REPO_ROOT,
  ratio,
  rotate,
  roundWalls,
  runShell,
  type Sample,
  seconds,
  summarize,
  writeResultsSection,
} from './harness.ts';

const rounds = Number(process.env.BENCH_ROUNDS) || 3;
const latencyMs = Number(process.env.BENCH_LATENCY_MS) || 0;
const skipBoto3 = process.env.BENCH_SKIP_BOTO3 === '1';
/** ds_img_finalize's default upload `concurrency`, and rclone's `--transfers` of the target's anchor. */
const CONCURRENCY = 16;
/** ds_r2_download's default `concurrency`. */
const DOWNLOAD_CONCURRENCY = 64;
const SRC = 'bench-src';
const DST = 'bench-dst';

const work = await mkdtemp(path.join(tmpdir(), 'bench-bucket-'));
const s3 = await startS3rver([SRC, DST]);
const serverPid = (await childPids('s3rver-process'))[0];
let proxy: ChildProcess | undefined;

async function startProxy(
  upstream: string,
  delay: number,
): Promise<{ endpoint: string; child: ChildProcess }> {
  const port = new URL(upstream).port;
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ds/delay-proxy.ts', port, String(delay)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const proxyPort = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PROXY_READY (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`proxy exited (${code}): ${out}`)));
  });
  return { endpoint: `http://127.0.0.1:${proxyPort}`, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

const store = (endpoint: string, bucket: string): ObjectStore =>
  createObjectStore({ bucket, endpoint, accessKeyId: S3RVER_ACCESS_KEY_ID, secretAccessKey: 'S3RVER' });

/** Runs `fn` and adds s3rver's CPU time over it. */
async function withServerCpu(fn: () => Promise<Sample>): Promise<Sample> {
  const before = serverPid ? await processCpuMs(serverPid) : 0;
  const sample = await fn();
  const after = serverPid ? await processCpuMs(serverPid) : 0;
  return { ...sample, extra: { ...sample.extra, serverCpuMs: after - before } };
}

async function freshDir(name: string): Promise<string> {
  const dir = path.join(work, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

async function checkDownload(dir: string): Promise<void> {
  const got = await dirBytes(dir, '.png');
  const want = await dirBytes(CORPUS, '.png');
  if (got.files !== want.files || got.bytes !== want.bytes) {
    throw new Error(
      `${dir}: ${got.files} files / ${got.bytes} bytes, expected ${want.files} / ${want.bytes}`,
    );
  }
}

async function checkUpload(endpoint: string, prefix: string): Promise<void> {
  let files = 0;
  let bytes = 0;
  for await (const object of store(endpoint, DST).list(prefix)) {
    files += 1;
    bytes += object.size;
  }
  const want = await dirBytes(CORPUS, '.png');
  if (files !== want.files || bytes !== want.bytes) {
    throw new Error(
      `s3://${DST}/${prefix}: ${files} objects / ${bytes} bytes, expected ${want.files} / ${want.bytes}`,
    );
  }
}

try {
  // Seed the source bucket directly (no proxy), 16 in flight, with the crawler's metadata.
  const pngs = (await readdir(CORPUS)).filter((n) => n.endsWith('.png')).sort();
  const seed = store(s3.endpoint, SRC);
  await mapBounded(pngs, CONCURRENCY, (name, i) =>
    seed.uploadFile(name, path.join(CORPUS, name), {
      contentType: 'image/png',
      metadata: { 'channel-id': String(100_000 + i) },
    }),
  );
  let endpoint = s3.endpoint;
  if (latencyMs > 0) {
    const started = await startProxy(s3.endpoint, latencyMs);
    proxy = started.child;
    endpoint = started.endpoint;
  }

  // rclone 1.60 refuses to start when AWS_CA_BUNDLE is set ("LoadCustomCABundleError ...
  // unsupported transport"), and this machine sets it; plain HTTP on loopback needs no CA, so
  // the rclone commands run with it unset (`env -u AWS_CA_BUNDLE`).
  const rcloneEnv = {
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: 'S3RVER',
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
  };

  /**
   * List + GET every object into a fresh folder, `inFlight` at once, as ds_r2_download does:
   * the channel id comes from the download's own head (`previous` adds the HEAD per object that
   * the asset used to send after each GET).
   */
  const storeDownload =
    (name: string, inFlight: number, leanGet: boolean, previous = false) =>
    async (): Promise<Sample> => {
      const dir = await freshDir(name);
      const source = new S3ObjectStore({
        bucket: SRC,
        endpoint,
        accessKeyId: S3RVER_ACCESS_KEY_ID,
        secretAccessKey: 'S3RVER',
        leanGet,
      });
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const keys: string[] = [];
      for await (const object of source.list()) keys.push(object.key);
      let withMetadata = 0;
      await mapBounded(keys, inFlight, async (key) => {
        let head = await source.download(key, path.join(dir, key));
        // The asset used to ignore the download's result and ask with a HEAD.
        if (previous) head = (await source.head(key)) ?? head;
        if (head.metadata['channel-id']) withMetadata += 1;
      });
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpu0);
      await checkDownload(dir);
      if (withMetadata !== keys.length) throw new Error(`${name}: metadata of ${withMetadata} objects only`);
      return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
    };
  const rcloneDownload = (transfers: number) => async (): Promise<Sample> => {
    const dir = await freshDir(`dl-rclone-${transfers}`);
    const r = await runShell(
      `env -u AWS_CA_BUNDLE rclone copy --transfers ${transfers} bench:${SRC} ${dir}`,
      rcloneEnv,
    );
    await checkDownload(dir);
    return { wallMs: r.wallMs, cpuMs: r.cpuMs };
  };

  const PIPELINE_DL = `object store as ds_r2_download runs it: lean SigV4 GET, ${DOWNLOAD_CONCURRENCY} in flight, metadata from the GET`;
  const LEAN_DL_16 = `object store, lean SigV4 GET, ${CONCURRENCY} in flight`;
  const SDK_DL = `object store, AWS SDK v3 GET (leanGet: false), ${DOWNLOAD_CONCURRENCY} in flight`;
  const PREVIOUS_DL = `previous ds_r2_download: AWS SDK v3, ${CONCURRENCY} in flight, GET + HEAD per object (reference)`;
  const BOTO_DL = 'boto3 download_file, sequential';
  const RCLONE_DL = `rclone copy --transfers ${CONCURRENCY}`;
  const RCLONE_DL_64 = `rclone copy --transfers ${DOWNLOAD_CONCURRENCY}`;
  const SDK_UL = `AWS SDK v3 object store uploadFile, ${CONCURRENCY} in flight`;
  const BOTO_UL = 'boto3 upload_file, sequential';
  const RCLONE_UL = `rclone copy --transfers ${CONCURRENCY}`;

  const download: Contender[] = [
    {
      name: PIPELINE_DL,
      run: () => withServerCpu(storeDownload('dl-pipeline', DOWNLOAD_CONCURRENCY, true)),
    },
    { name: LEAN_DL_16, run: () => withServerCpu(storeDownload('dl-lean-16', CONCURRENCY, true)) },
    { name: SDK_DL, run: () => withServerCpu(storeDownload('dl-sdk-64', DOWNLOAD_CONCURRENCY, false)) },
    {
      name: PREVIOUS_DL,
      run: () => withServerCpu(storeDownload('dl-previous', CONCURRENCY, false, true)),
    },
    ...(skipBoto3
      ? []
      : [
          {
            name: BOTO_DL,
            run: () =>
              withServerCpu(async () => {
                const dir = await freshDir('dl-boto3');
                const r = await runShell(
                  `${PYTHON} bench/ds/boto3_transfer.py download ${endpoint} ${SRC} ${dir}`,
                );
                await checkDownload(dir);
                return { wallMs: r.wallMs, cpuMs: r.cpuMs };
              }),
          },
        ]),
    { name: RCLONE_DL, run: () => withServerCpu(rcloneDownload(CONCURRENCY)) },
    { name: RCLONE_DL_64, run: () => withServerCpu(rcloneDownload(DOWNLOAD_CONCURRENCY)) },
  ];
  const upload: Contender[] = [
    {
      name: SDK_UL,
      run: (round) =>
        withServerCpu(async () => {
          const prefix = `r${round}/sdk/`;
          const target = store(endpoint, DST);
          const cpu0 = process.cpuUsage();
          const started = performance.now();
          await mapBounded(pngs, CONCURRENCY, (name) =>
            target.uploadFile(prefix + name, path.join(CORPUS, name), {
              contentType: 'image/png',
              cacheControl: 'public, max-age=86400',
            }),
          );
          const wallMs = performance.now() - started;
          const cpu = process.cpuUsage(cpu0);
          await checkUpload(s3.endpoint, prefix);
          return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
        }),
    },
    ...(skipBoto3
      ? []
      : [
          {
            name: BOTO_UL,
            run: (round: number) =>
              withServerCpu(async () => {
                const prefix = `r${round}/boto3/`;
                const r = await runShell(
                  `${PYTHON} bench/ds/boto3_transfer.py upload ${endpoint} ${DST} ${CORPUS} ${prefix}`,
                );
                await checkUpload(s3.endpoint, prefix);
                return { wallMs: r.wallMs, cpuMs: r.cpuMs };
              }),
          },
        ]),
    {
      name: RCLONE_UL,
      run: (round) =>
        withServerCpu(async () => {
          const prefix = `r${round}/rclone/`;
          const r = await runShell(
            `env -u AWS_CA_BUNDLE rclone copy --transfers ${CONCURRENCY} ${CORPUS} bench:${DST}/${prefix}`,
            rcloneEnv,
          );
          await checkUpload(s3.endpoint, prefix);
          return { wallMs: r.wallMs, cpuMs: r.cpuMs };
        }),
    },
  ];
  // One rotation over all seven, so downloads and uploads share the same rounds.
  const all = [
    ...download.map((c) => ({ ...c, name: `download: ${c.name}` })),
    ...upload.map((c) => ({ ...c, name: `upload: ${c.name}` })),
  ];
  const date = new Date().toISOString();
  const summary = summarize(await rotate(all, rounds));
  const get = (name: string) => summary.find((s) => s.name === name);
  const rcloneDl = get(`download: ${RCLONE_DL}`);
  const rcloneDl64 = get(`download: ${RCLONE_DL_64}`);
  const rcloneUl = get(`upload: ${RCLONE_UL}`);
  const pipelineDl = get(`download: ${PIPELINE_DL}`);
  const previousDl = get(`download: ${PREVIOUS_DL}`);
  const sdkUl = get(`upload: ${SDK_UL}`);
  if (!rcloneDl || !rcloneDl64 || !rcloneUl || !pipelineDl || !previousDl || !sdkUl) {
    throw new Error('missing results');
  }
  const rows = summary.map((s) => {
    const base = s.name.startsWith('download') ? rcloneDl : rcloneUl;
    return `| ${s.name} | ${seconds(s.wallMs)} | ${seconds(s.cpuMs)} | ${seconds(s.extra.serverCpuMs)} | ${((1000 / s.wallMs) * 1000).toFixed(0)} | ${ratio(base.wallMs, s.wallMs)} | ${roundWalls(s)} |`;
  });
  const label = latencyMs > 0 ? `, ${latencyMs} ms added per request` : ', no added latency';
  const body = `## Bucket transfer, 1,000 PNGs on one local s3rver${label} (\`bench/ds/bucket-transfer.ts\`)

- Command: \`${process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${rounds} ` : ''}${latencyMs > 0 ? `BENCH_LATENCY_MS=${latencyMs} ` : ''}${skipBoto3 ? 'BENCH_SKIP_BOTO3=1 ' : ''}node --import tsx bench/ds/bucket-transfer.ts\`
- Date: ${date}
- Machine: ${machine()}
- s3rver ${latencyMs > 0 ? `behind a loopback proxy (\`bench/ds/delay-proxy.ts\`) that forwards every client chunk ${latencyMs} ms late` : 'on 127.0.0.1, clients connect directly'}; medians of ${rounds} rounds run in rotation over all rows below.
- Client CPU: in-process \`process.cpuUsage()\` for the object store (the bench process), user + system of the command for boto3 / rclone. Server CPU: s3rver's process over the same interval. Downloads include listing the bucket; every download and upload is checked (1,000 files, same bytes).

| contender | wall (s) | client CPU (s) | s3rver CPU (s) | objects/s | speed ÷ rclone's | wall per round (s) |
|---|---|---|---|---|---|---|
${rows.join('\n')}

- Target "download at ≥ 1.0× rclone's speed": **${pipelineDl.wallMs <= rcloneDl.wallMs ? 'met' : 'not met'}** (ds_r2_download's way ${seconds(pipelineDl.wallMs)} s vs rclone --transfers ${CONCURRENCY} ${seconds(rcloneDl.wallMs)} s = ${ratio(rcloneDl.wallMs, pipelineDl.wallMs)}; vs rclone at the same ${DOWNLOAD_CONCURRENCY} transfers ${seconds(rcloneDl64.wallMs)} s = ${ratio(rcloneDl64.wallMs, pipelineDl.wallMs)}; the previous way, SDK + HEAD per object, ${seconds(previousDl.wallMs)} s, so ${ratio(previousDl.wallMs, pipelineDl.wallMs)} faster than before).
- Target "upload at ≥ 1.0× rclone's speed": **${sdkUl.wallMs <= rcloneUl.wallMs ? 'met' : 'not met'}** (object store ${seconds(sdkUl.wallMs)} s vs rclone ${seconds(rcloneUl.wallMs)} s = ${ratio(rcloneUl.wallMs, sdkUl.wallMs)}).
`;
  await writeResultsSection(latencyMs > 0 ? `bucket-transfer-latency-${latencyMs}` : 'bucket-transfer', body);
  console.log(body);
} finally {
  if (proxy) await stopChild(proxy);
  await s3.close();
  await rm(work, { recursive: true, force: true });
}
