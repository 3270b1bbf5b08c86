import type { ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { isRunFinishedReport, type RunFinished, type RunHandoff } from '@dag/core';

/** How reused run processes are recycled (see `RunLauncherOptions.reuse`). */
export interface ReuseOptions {
  /** Runs a process executes before it is retired. Default 250. */
  maxRuns?: number;
  /** Growth of its resident memory since its first run past which it is retired (bytes). Default 256 MiB. */
  maxRssGrowth?: number;
  /**
   * Processes kept, busy or idle: all are started ahead of time, and one retired is replaced
   * at once. Default 4.
   */
  poolSize?: number;
}

export const REUSE_DEFAULTS = { maxRuns: 250, maxRssGrowth: 256 * 1024 * 1024, poolSize: 4 } as const;

/** How a run's process ended for the launcher: it exited, or (reused) it reported the run finished. */
export interface RunExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
  finished?: RunFinished;
}

/** Appends to a log file through one stream, opened on first write. */
class LogSink {
  private stream: WriteStream | undefined;
  private wrote = false;
  constructor(readonly file: string) {}
  write(chunk: string | Buffer): void {
    this.wrote = true;
    this.stream ??= createWriteStream(this.file, { flags: 'a' });
    this.stream.write(chunk);
  }
  async close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    if (stream) await new Promise<void>((resolve) => stream.end(() => resolve()));
  }
  /** Closes it, and removes the file when nothing was ever written to it. */
  async closeAndDropIfEmpty(): Promise<void> {
    await this.close();
    if (!this.wrote || (await stat(this.file).catch(() => undefined))?.size === 0)
      await unlink(this.file).catch(() => {});
  }
}

/**
 * A run process kept for several runs, one at a time: it loaded the code location and opened
 * the instance once, then executes each run it is handed over IPC and reports it finished
 * (`reportRunFinished`). Its stdout and stderr come through pipes, written to the log file of
 * the run it executes (its own log between runs), up to the bytes it reported at each
 * run's end, so no run's output lands in another's log.
 */
export class ReusedRunProcess {
  runs = 0;
  /** Resident memory after its first run: the base its growth is measured from. */
  baseRss: number | undefined;
  /** Set when its code went stale or it is retired: it takes no further run. */
  retired = false;
  /** CPU time it had used when its last run ended (ms). */
  cpuMs = 0;
  /** CPU time of its last run (the first includes loading the code location), ms. */
  lastRunCpuMs = 0;
  readonly exited: Promise<RunExit>;
  private readonly received = { stdout: 0, stderr: 0 };
  private sink: LogSink | undefined;
  private readonly own: LogSink;
  private current: { runId: string; resolve: (exit: RunExit) => void } | undefined;
  private waiting: (() => void) | undefined;

  constructor(
    readonly child: ChildProcess,
    /** Its own log: start-up output and anything printed between runs. */
    ownLog: string,
    /** The code's generation when it was started (see the launcher's code watch). */
    readonly generation: number,
  ) {
    this.own = new LogSink(ownLog);
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]?.on('data', (chunk: Buffer) => {
        this.received[name] += chunk.length;
        (this.sink ?? this.own).write(chunk);
        this.waiting?.();
      });
    }
    child.on('message', (message) => {
      if (isRunFinishedReport(message) && message.runId === this.current?.runId) void this.finished(message);
    });
    this.exited = new Promise<RunExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    void this.exited.then((exit) => {
      const current = this.current;
      this.current = undefined;
      current?.resolve(exit);
      void this.own.closeAndDropIfEmpty();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Hands it a run: its output goes to `logFile` from now on. Resolves when the run is
   * reported finished or the process exited.
   */
  hand(handoff: RunHandoff, logFile: string, header: string): Promise<RunExit> {
    this.runs++;
    this.sink = new LogSink(logFile);
    this.sink.write(header);
    const ended = new Promise<RunExit>((resolve) => {
      this.current = { runId: handoff.runId, resolve };
    });
    this.child.send({ ...handoff, reuse: true }, (error) => {
      // It died meanwhile: its exit is reported as the run's.
      if (error) this.child.kill('SIGKILL');
    });
    return ended;
  }

  /** The run's output has all arrived (up to what the report counted), then the run is over. */
  private async finished(report: RunFinished): Promise<void> {
    const deadline = Date.now() + 2000;
    while (
      (this.received.stdout < report.stdoutBytes || this.received.stderr < report.stderrBytes) &&
      Date.now() < deadline &&
      this.alive
    ) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = undefined;
    }
    this.baseRss ??= report.rss;
    this.lastRunCpuMs = report.cpuMs - this.cpuMs;
    this.cpuMs = report.cpuMs;
    const current = this.current;
    this.current = undefined;
    current?.resolve({ code: null, signal: null, finished: report });
  }

  /** Ends the current run's log (after `trailer`); what the process prints next goes to its own log. */
  async endRunLog(trailer: string): Promise<void> {
    const sink = this.sink;
    this.sink = undefined;
    if (!sink) return;
    sink.write(trailer);
    await sink.close();
  }

  /** Why it must not take another run, or undefined when it may. */
  retireReason(
    report: RunFinished,
    options: Required<ReuseOptions>,
    generation: number,
    terminated: boolean,
  ): string | undefined {
    if (this.retired) return 'it was retired';
    if (terminated) return 'its run was terminated or aborted';
    if (report.status !== 'SUCCESS') return `its run ended ${report.status}`;
    if (report.leftover > 0) return `its run left ${report.leftover} process(es) running`;
    if (generation !== this.generation) return 'the code location changed on disk';
    if (this.runs >= options.maxRuns) return `it executed ${this.runs} runs (the most per process)`;
    const growth = report.rss - (this.baseRss ?? report.rss);
    if (growth > options.maxRssGrowth)
      return `its memory grew by ${Math.round(growth / 1048576)} MiB since its first run`;
    return undefined;
  }

  /** Lets it go: it exits on its own once its channel closes (killing what it left running). */
  retire(): void {
    this.retired = true;
    if (this.child.connected) this.child.disconnect();
    // One that does not exit in time is killed.
    const timer = setTimeout(() => {
      if (this.alive) this.child.kill('SIGKILL');
    }, 5000);
    timer.unref();
    void this.exited.then(() => clearTimeout(timer));
  }
}
