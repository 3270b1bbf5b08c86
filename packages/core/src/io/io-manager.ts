import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NonRetriableError } from '../errors.ts';
import { decodeValue, encodeValue } from './value-codec.ts';

export interface OutputContext {
  /** The asset key, or for ops `<runId>/<nodeKey>`: where the value belongs. */
  key: string;
  runId: string;
  stepKey: string;
  /** The partition the value belongs to, for a partitioned asset (values are stored per partition). */
  partitionKey?: string;
}

export interface InputContext {
  /** The upstream asset key (or op output key) to load. */
  key: string;
  runId: string;
  /** The step that needs the value. */
  stepKey: string;
  /** The upstream partition to load, for a partitioned upstream asset. */
  partitionKey?: string;
}

/**
 * Stores values returned by assets and ops, and loads them for downstream steps.
 * Implementations must make `handleOutput` atomic: a reader never sees half a value.
 */
export interface IOManager {
  handleOutput(ctx: OutputContext, value: unknown): Promise<void>;
  loadInput(ctx: InputContext): Promise<unknown>;
}

/**
 * The default IO manager: one JSON file per key under a folder (the instance's `storage/`).
 * A top-level Buffer is stored raw with a `.bin` extension. Values round-trip exactly,
 * including Date, Map, Set, BigInt, Buffer and typed arrays (see value-codec.ts); a value that
 * cannot be stored faithfully (a function, a symbol, a class instance) fails the step with an
 * error naming the asset and where in the value the problem is.
 */
export class FileIOManager implements IOManager {
  constructor(readonly baseDir: string) {}

  private fileFor(key: string, partitionKey?: string): string {
    if (partitionKey !== undefined) {
      // One file per partition beside the asset's own file; every character outside the safe
      // set is escaped (~ and its code), so distinct keys never share a file.
      const escaped = partitionKey.replace(/[^A-Za-z0-9_.-]|^\.+$/g, (c) =>
        [...c].map((ch) => `~${ch.codePointAt(0)!.toString(16)}~`).join(''),
      );
      return path.join(`${this.fileFor(key)}.partitions`, escaped);
    }
    const safe = key
      .split('/')
      .map((part) => part.replace(/[^A-Za-z0-9_.-]/g, '_'))
      .filter((part) => part !== '' && part !== '.' && part !== '..');
    return path.join(this.baseDir, ...safe);
  }

  async handleOutput(ctx: OutputContext, value: unknown): Promise<void> {
    const base = this.fileFor(ctx.key, ctx.partitionKey);
    const isBuffer = Buffer.isBuffer(value);
    let body: string | Buffer;
    if (isBuffer) body = value;
    else body = encodeValue(value, ctx.key, ctx.stepKey);
    const target = `${base}${isBuffer ? '.bin' : '.json'}`;
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      await writeFile(temp, body);
      await rename(temp, target);
      await rm(`${base}${isBuffer ? '.json' : '.bin'}`, { force: true });
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async loadInput(ctx: InputContext): Promise<unknown> {
    const base = this.fileFor(ctx.key, ctx.partitionKey);
    try {
      const text = await readFile(`${base}.json`, 'utf8');
      return decodeValue(text, ctx.key);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    try {
      return await readFile(`${base}.bin`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new NonRetriableError(
        `Step '${ctx.stepKey}' needs the value of '${ctx.key}'${ctx.partitionKey !== undefined ? `, partition '${ctx.partitionKey}'` : ''}, which has never been stored. Materialize it first, or include it in the selection (e.g. '+${ctx.stepKey}').`,
      );
    }
  }
}
