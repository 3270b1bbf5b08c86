import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Workspace } from '@dag/core';
import type { Hono } from 'hono';
import { freshInstance, type TestInstance } from '../../core/test/support.ts';
import { createApp } from '../src/create-app.ts';
import type { AppOptions } from '../src/interfaces.ts';
import { RunLauncher, type RunLauncherOptions } from '../src/run-launcher.ts';

export const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'server-defs.ts');

export interface ServerFixture {
  app: Hono;
  workspace: Workspace;
  launcher: RunLauncher;
  test: TestInstance;
  close: () => Promise<void>;
}

/** A fresh database and instance folder, the fixture definitions, a launcher and the app. */
export async function serverFixture(
  options: Partial<Omit<AppOptions, 'workspace' | 'instance' | 'launcher'>> & {
    launcher?: Partial<RunLauncherOptions>;
    /** A definitions file other than FIXTURE. */
    file?: string;
  } = {},
): Promise<ServerFixture> {
  const test = await freshInstance();
  const workspace = await Workspace.load({ file: options.file ?? FIXTURE });
  const launcher = new RunLauncher({
    instance: test.instance,
    workspace,
    graceMs: 3000,
    treePollMs: 200,
    ...options.launcher,
  });
  const { launcher: _, file: __, ...appOptions } = options;
  const app = createApp({
    workspace,
    instance: test.instance,
    launcher,
    streamPollMs: 50,
    heartbeatMs: 500,
    ...appOptions,
  });
  return {
    app,
    workspace,
    launcher,
    test,
    close: async () => {
      await launcher.close();
      await test.cleanup();
    },
  };
}

export interface ApiResult<T> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

/** Calls the app in-process and parses JSON bodies. */
export async function call<T = Record<string, unknown>>(
  app: Hono,
  route: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<ApiResult<T>> {
  const { json, ...rest } = init;
  const request: RequestInit = { ...rest };
  if (json !== undefined) {
    request.method ??= 'POST';
    request.body = JSON.stringify(json);
    request.headers = { 'Content-Type': 'application/json', ...(rest.headers as Record<string, string>) };
  }
  const res = await app.request(`http://localhost${route}`, request);
  const text = await res.text();
  let body: unknown = text;
  if (res.headers.get('Content-Type')?.includes('application/json')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, body: body as T };
}

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
  receivedAt: number;
}

/** Reads a Server-Sent Events response, message by message. Comments are skipped. */
export async function* readSse(res: Response): AsyncGenerator<SseMessage> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let split = buffer.indexOf('\n\n');
      while (split >= 0) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        split = buffer.indexOf('\n\n');
        const message: SseMessage = { data: '', receivedAt: Date.now() };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') message.id = value;
          else if (field === 'event') message.event = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length === 0 && message.event === undefined) continue;
        message.data = data.join('\n');
        yield message;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Polls until `check` returns a value (not undefined), or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** State of a process from /proc ('Z' zombie), or undefined when it is gone. */
export async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
