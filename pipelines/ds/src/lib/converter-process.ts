import { type ChildProcess, fork } from 'node:child_process';
import { type ConvertOptions, removeTempFilesOf } from './convert-png-to-webp.ts';
import type { ConvertReply, ConvertRequest } from './converter-child.ts';

export interface ConvertResult {
  bytes: number;
  width: number;
  height: number;
}

interface Job {
  id: number;
  input: string;
  output: string;
  /** Converter crashes this job was in flight for. */
  crashes: number;
  resolve: (result: ConvertResult) => void;
  reject: (error: Error) => void;
}

/**
 * glibc malloc settings for the converter: keep freed memory for the next image instead of
 * handing it back to the kernel after each one (glibc's default trims the heap as soon as
 * 128 KiB or so sit free at its top, and the next image faults every page in again). Measured
 * in bench/ds/png2webp.ts: about half the system time of a conversion, 3-5% of its CPU. A
 * setting the user already gives in GLIBC_TUNABLES wins; musl and other libcs ignore these.
 */
const MALLOC_TUNABLES: Record<string, string> = {
  'glibc.malloc.trim_threshold': String(32 * 1024 * 1024),
  'glibc.malloc.mmap_threshold': String(32 * 1024 * 1024),
};

export function converterTunables(existing: string | undefined): string {
  const given = (existing ?? '').split(':').filter(Boolean);
  const names = new Set(given.map((entry) => entry.split('=')[0]));
  const added = Object.entries(MALLOC_TUNABLES)
    .filter(([name]) => !names.has(name))
    .map(([name, value]) => `${name}=${value}`);
  return [...given, ...added].join(':');
}

const CHILD = new URL('./converter-child.ts', import.meta.url);
const TSX = import.meta.resolve('tsx');
const STDERR_TAIL = 4000;

/**
 * Converts PNGs to WebP in a separate Node process (`converter-child.ts`), `concurrency` at a
 * time, with sharp/libvips doing the work there.
 *
 * Why a process of its own:
 * - A file that crashes libvips (a native fault, or memory exhausted) takes down the converter,
 *   not the run: the files that were in flight are converted again, one at a time, in a fresh
 *   converter, and a file that crashes it a second time becomes a failed item with an error
 *   that says so. Nothing else is lost.
 * - The converter starts with malloc settings suited to decoding image after image
 *   (`MALLOC_TUNABLES`), which can only be given to a process when it starts.
 * - The memory libvips fragments is returned when the converter exits.
 *
 * The process is started on the first `convert` and stops on `close` (or when `signal`
 * aborts, which kills it and rejects what is pending).
 */
export class ConverterProcess {
  private child: ChildProcess | undefined;
  private ready = false;
  private readonly queue: Job[] = [];
  private readonly inFlight = new Map<number, Job>();
  private nextId = 0;
  private stderrTail = '';
  /** Starts in a row that died before they were ready: the converter itself cannot start. */
  private failedStarts = 0;
  private closed = false;

  constructor(private readonly options: ConvertOptions & { concurrency: number; signal?: AbortSignal }) {
    options.signal?.addEventListener('abort', () => this.abort(), { once: true });
  }

  /** Process ids of the converter started so far (the current one last); for operators and tests. */
  readonly pids: number[] = [];

  /** Files waiting for the converter, and files it is converting now. */
  get pending(): { queued: number; inFlight: number } {
    return { queued: this.queue.length, inFlight: this.inFlight.size };
  }

  convert(input: string, output: string): Promise<ConvertResult> {
    if (this.closed || this.options.signal?.aborted) {
      return Promise.reject(new Error('the converter was stopped before this file was converted'));
    }
    return new Promise<ConvertResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, output, crashes: 0, resolve, reject });
      this.pump();
    });
  }

  /** Lets the converter finish what is in flight, then stops it. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (this.inFlight.size === 0 && this.queue.length === 0 && child.connected) child.disconnect();
    await exited;
  }

  /** Jobs, queued or in flight, that were in flight when a converter died. */
  private suspects = 0;

  private get limit(): number {
    // After a crash the files that were in flight go one at a time, to find the one to blame.
    return this.suspects > 0 ? 1 : Math.max(1, this.options.concurrency);
  }

  /** Settles a job that has left the queue and the in-flight set. */
  private settle(job: Job, outcome: { result: ConvertResult } | { error: Error }): void {
    if (job.crashes > 0) this.suspects -= 1;
    if ('result' in outcome) job.resolve(outcome.result);
    else job.reject(outcome.error);
  }

  private pump(): void {
    if (this.queue.length === 0 && this.inFlight.size === 0) {
      if (this.closed && this.child?.connected) this.child.disconnect();
      return;
    }
    if (!this.child) this.start();
    if (!this.ready || !this.child) return;
    while (this.queue.length > 0 && this.inFlight.size < this.limit) {
      const job = this.queue.shift() as Job;
      this.inFlight.set(job.id, job);
      const request: ConvertRequest = { id: job.id, input: job.input, output: job.output };
      const child = this.child;
      child.send(request, (error) => {
        // The converter is going or gone; its exit puts the job back in the queue. Should it
        // still be running, it is stopped, so that the job is not left waiting on it.
        if (error && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
    }
  }

  private start(): void {
    const { concurrency, signal: _signal, ...convertOptions } = this.options;
    this.ready = false;
    this.stderrTail = '';
    const child = fork(CHILD, [JSON.stringify(convertOptions)], {
      execArgv: ['--import', TSX],
      env: {
        ...process.env,
        GLIBC_TUNABLES: converterTunables(process.env.GLIBC_TUNABLES),
        // Each conversion is one task on libuv's pool: room for all of them at once.
        UV_THREADPOOL_SIZE: String(Math.max(4, concurrency)),
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    if (child.pid !== undefined) this.pids.push(child.pid);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
    });
    child.on('message', (reply: ConvertReply) => {
      if ('ready' in reply) {
        this.ready = true;
        this.failedStarts = 0;
        this.pump();
        return;
      }
      const job = this.inFlight.get(reply.id);
      if (!job) return;
      this.inFlight.delete(reply.id);
      this.settle(job, reply.ok ? { result: reply.result } : { error: new Error(reply.error) });
      this.pump();
    });
    child.on('error', (error) => this.died(child, `could not run: ${error.message}`));
    child.on('exit', (code, signal) =>
      this.died(child, signal ? `was killed by ${signal}` : `exited with code ${code}`),
    );
  }

  private died(child: ChildProcess, how: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    const wasReady = this.ready;
    this.ready = false;
    const tail = this.stderrTail.trim();
    const detail = tail ? `; its last output: ${tail.slice(-600)}` : '';
    if (this.options.signal?.aborted) {
      this.failAll('the run was terminated before this file was converted');
      return;
    }
    if (!wasReady) {
      this.failedStarts += 1;
      if (this.failedStarts >= 2) {
        this.failAll(`the WebP converter process could not start: it ${how}${detail}`);
        return;
      }
    }
    for (const job of [...this.inFlight.values()].reverse()) {
      this.inFlight.delete(job.id);
      removeTempFilesOf(job.output);
      job.crashes += 1;
      if (job.crashes === 1) this.suspects += 1;
      if (job.crashes >= 2) {
        this.settle(job, {
          error: new Error(
            `the WebP converter process ${how} while converting this file, again when it was retried alone: the file crashes libvips; re-crawl it or delete it from the source bucket${detail}`,
          ),
        });
      } else {
        this.queue.unshift(job);
      }
    }
    this.pump();
  }

  private abort(): void {
    this.closed = true;
    this.failAll('the run was terminated before this file was converted');
    this.child?.kill('SIGKILL');
  }

  private failAll(message: string): void {
    const jobs = [...this.inFlight.values(), ...this.queue];
    this.inFlight.clear();
    this.queue.length = 0;
    for (const job of jobs) this.settle(job, { error: new Error(message) });
  }
}
