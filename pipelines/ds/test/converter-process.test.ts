import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { convertPngToWebp } from '../src/lib/convert-png-to-webp.ts';
import { ConverterProcess, converterTunables } from '../src/lib/converter-process.ts';
import { jpegBytes } from './support/bad-images.ts';
import { logoPng } from './support/ds-fixture.ts';

const options = { quality: 80, maxInputPixels: 25_000_000 };

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A PNG of noise, slow enough to encode (hundreds of milliseconds) to be caught in flight. */
async function noisePng(size: number): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

describe('ConverterProcess', () => {
  let dir: string;
  const pngs: string[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'converter-process-'));
    await mkdir(path.join(dir, 'in'));
    for (let i = 0; i < 24; i++) {
      const file = path.join(dir, 'in', `logo ${i}.png`);
      await writeFile(file, await logoPng(i + 1, 160 + i * 8));
      pngs.push(file);
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the same WebP as converting in this process, and the same errors for bad files', async () => {
    const converter = new ConverterProcess({ ...options, concurrency: 2 });
    const badFile = path.join(dir, 'in', 'photo.png');
    await writeFile(badFile, await jpegBytes());
    try {
      const viaProcess = await converter.convert(pngs[0] as string, path.join(dir, 'a', 'logo.webp'));
      const here = await convertPngToWebp(pngs[0] as string, path.join(dir, 'b', 'logo.webp'), options);
      assert.deepEqual(viaProcess, here);
      assert.deepEqual(
        await readFile(path.join(dir, 'a', 'logo.webp')),
        await readFile(path.join(dir, 'b', 'logo.webp')),
      );
      await assert.rejects(
        converter.convert(badFile, path.join(dir, 'a', 'photo.webp')),
        /not a PNG: the bytes are JPEG/,
      );
      assert.deepEqual(await readdir(path.join(dir, 'a')), ['logo.webp']);
    } finally {
      await converter.close();
    }
    assert.equal(converter.pids.length, 1);
    await until('the converter has exited', () => !isRunning(converter.pids[0] as number));
  });

  it('converts every file even when the converter process dies in the middle', async () => {
    const converter = new ConverterProcess({ ...options, concurrency: 4 });
    const out = path.join(dir, 'killed');
    let done = 0;
    const all = pngs.map((png, i) =>
      converter.convert(png, path.join(out, `${i}.webp`)).then((result) => {
        done += 1;
        return result;
      }),
    );
    await until(
      'a few files are converted and more are in flight',
      () => done >= 3 && converter.pending.inFlight > 0,
    );
    process.kill(converter.pids[0] as number, 'SIGKILL');
    const results = await Promise.all(all);
    await converter.close();
    assert.equal(results.length, pngs.length);
    assert.ok(converter.pids.length >= 2, 'a fresh converter took over');
    const files = (await readdir(out)).sort();
    assert.equal(files.length, pngs.length, `no temporary or missing files: ${files.join(', ')}`);
    for (const file of files) {
      const head = (await readFile(path.join(out, file))).subarray(0, 12).toString('latin1');
      assert.match(head, /^RIFF....WEBP$/s);
    }
  });

  it('fails only the file that kills the converter twice, and goes on with the rest', async () => {
    const converter = new ConverterProcess({ ...options, concurrency: 1 });
    const out = path.join(dir, 'poison');
    const poison = path.join(dir, 'in', 'noise.png');
    await writeFile(poison, await noisePng(2400));
    const poisoned = converter.convert(poison, path.join(out, 'noise.webp'));
    const after = converter.convert(pngs[1] as string, path.join(out, 'after.webp'));
    for (let kill = 1; kill <= 2; kill++) {
      await until(
        `converter ${kill} is converting the file`,
        () => converter.pids.length === kill && converter.pending.inFlight === 1,
      );
      process.kill(converter.pids[kill - 1] as number, 'SIGKILL');
    }
    await assert.rejects(
      poisoned,
      /converter process was killed by SIGKILL while converting this file, again when it was retried alone/,
    );
    assert.equal((await after).width, 168);
    await converter.close();
    assert.deepEqual(await readdir(out), ['after.webp']);
  });

  it('keeps the malloc settings a user gives and adds its own otherwise', () => {
    assert.equal(
      converterTunables(undefined),
      'glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=33554432',
    );
    assert.equal(
      converterTunables('glibc.malloc.trim_threshold=1:glibc.malloc.arena_max=2'),
      'glibc.malloc.trim_threshold=1:glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=33554432',
    );
  });
});
