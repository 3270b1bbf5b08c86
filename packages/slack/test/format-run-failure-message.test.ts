import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerSecret } from '@dag/core';
import type { KnownBlock } from '@slack/types';
import { ERROR_MAX_CHARS, failureDetails, formatRunFailureMessage, runUrlFor } from '../src/index.ts';
import { event, failedRun, stepFailureEvents } from './support.ts';

const RUN_URL = runUrlFor('http://127.0.0.1:3000/', '7f3c2a91-5d2e-4c1b-9a8e-2b6f0c1d9e44');

function texts(blocks: KnownBlock[]): string[] {
  const out: string[] = [];
  for (const block of blocks) {
    const b = block as {
      text?: { text: string };
      fields?: { text: string }[];
      elements?: { text?: string }[];
    };
    if (b.text) out.push(b.text.text);
    for (const field of b.fields ?? []) out.push(field.text);
    for (const element of b.elements ?? []) if (element.text) out.push(element.text);
  }
  return out;
}

function codeBlock(blocks: KnownBlock[]): string {
  const match = /```([\s\S]*)```/.exec(texts(blocks).join('\n'));
  assert.ok(match, 'the message has a code block');
  return match[1] ?? '';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('formatRunFailureMessage', () => {
  it('names the job and the step, shows the error in a code block and links the run', () => {
    const { text, blocks } = formatRunFailureMessage({
      run: failedRun(),
      failedStep: 'load',
      error: 'Error: 적재 실패: 테이블 orders 가 잠겨 있습니다\n    at load (/srv/pipelines/orders.ts:42:11)',
      runUrl: RUN_URL,
    });
    assert.equal(RUN_URL, 'http://127.0.0.1:3000/#/runs/7f3c2a91-5d2e-4c1b-9a8e-2b6f0c1d9e44');
    assert.equal(
      text,
      'Run 7f3c2a91 of orders_daily failed in step load: Error: 적재 실패: 테이블 orders 가 잠겨 있습니다',
    );
    assert.deepEqual(blocks[0], {
      type: 'header',
      text: { type: 'plain_text', text: '🚨 Run failed: orders_daily', emoji: true },
    });
    const all = texts(blocks).join('\n');
    assert.match(all, /\*Job\*\n`orders_daily`/);
    assert.match(all, /\*Failed step\*\n`load`/);
    assert.ok(all.includes(`<${RUN_URL}|7f3c2a91-5d2e-4c1b-9a8e-2b6f0c1d9e44>`), all);
    assert.ok(all.includes(`<${RUN_URL}|Open the run>`));
    assert.match(all, /<!date\^1772384700\^\{date_short_pretty\} \{time_secs\}\|2026-03-01T17:05:00\.000Z>/);
    assert.equal(
      codeBlock(blocks),
      'Error: 적재 실패: 테이블 orders 가 잠겨 있습니다\n    at load (/srv/pipelines/orders.ts:42:11)',
    );
    assert.ok(!all.includes('shown; the full error'), 'nothing was cut, so no note says so');
  });

  it('keeps the first 10 lines and says how many there were', () => {
    const error = Array.from({ length: 25 }, (_, i) => `줄 ${i + 1}: 오류 내용`).join('\n');
    const { blocks } = formatRunFailureMessage({
      run: failedRun(),
      failedStep: 'load',
      error,
      runUrl: RUN_URL,
    });
    const lines = codeBlock(blocks).split('\n');
    assert.equal(lines.length, 10);
    assert.equal(lines[0], '줄 1: 오류 내용');
    assert.equal(lines[9], '줄 10: 오류 내용');
    assert.ok(texts(blocks).includes("First 10 of 25 lines shown; the full error is in the run's log."));
  });

  it('cuts a long error at 1,500 characters by code point, never splitting a character', () => {
    const korean = '데이터베이스 연결이 끊어졌습니다 🙂 '.repeat(200);
    const { blocks, text } = formatRunFailureMessage({ run: failedRun(), error: korean, runUrl: RUN_URL });
    const code = codeBlock(blocks);
    assert.ok(code.length <= ERROR_MAX_CHARS + 1, `${code.length} characters`);
    assert.ok(code.endsWith('…'));
    assert.ok(code.startsWith('데이터베이스 연결이 끊어졌습니다 🙂'));
    assert.doesNotMatch(code, LONE_SURROGATE);
    assert.doesNotMatch(text, LONE_SURROGATE);
    assert.ok(text.length < 300, 'the notification text stays short');
    for (const t of texts(blocks)) assert.ok(t.length <= 3000);
  });

  it('escapes mrkdwn, strips colour codes and keeps the code block closed', () => {
    const error = '\u001b[31mValueError\u001b[0m: a < b && c > d\n```\nnot a new block\n```';
    const { blocks, text } = formatRunFailureMessage({
      run: failedRun(),
      failedStep: 'load',
      error,
      runUrl: RUN_URL,
    });
    assert.equal(codeBlock(blocks), "ValueError: a &lt; b &amp;&amp; c &gt; d\n'''\nnot a new block\n'''");
    assert.equal(
      text,
      'Run 7f3c2a91 of orders_daily failed in step load: ValueError: a &lt; b &amp;&amp; c &gt; d',
    );
  });

  it('never shows registered secrets or Slack tokens from the error', () => {
    registerSecret('pg-password-Zx81!');
    const error =
      'connect failed: postgres://etl:pg-password-Zx81!@db/orders (token xoxb-9999-8888-abcdefabcdef)';
    const { blocks, text } = formatRunFailureMessage({ run: failedRun(), error, runUrl: RUN_URL });
    const all = `${text}\n${texts(blocks).join('\n')}`;
    assert.ok(!all.includes('pg-password-Zx81!'));
    assert.ok(!all.includes('xoxb-9999'));
    assert.match(codeBlock(blocks), /postgres:\/\/etl:\*\*\*@db\/orders \(token \*\*\*\)/);
  });

  it('copes with a run that has no step or error, and with long names', () => {
    const longJob = `job_${'x'.repeat(300)}`;
    const { blocks, text } = formatRunFailureMessage({
      run: failedRun({ jobName: longJob }),
      runUrl: RUN_URL,
    });
    const header = (blocks[0] as { text: { text: string } }).text.text;
    assert.ok(header.length <= 150, `${header.length} UTF-16 units`);
    assert.doesNotMatch(header, LONE_SURROGATE);
    assert.ok(header.endsWith('…'));
    assert.match(texts(blocks).join('\n'), /\*Failed step\*\n_unknown_/);
    assert.ok(texts(blocks).includes('_No error message was recorded._'));
    assert.match(text, /^Run 7f3c2a91 of job_x+…? failed$/);
  });
});

describe('failureDetails', () => {
  it('takes the first failed step and the user error under the UserCodeError wrapper', () => {
    const cause = new Error('적재 실패: 잠금 대기 시간 초과');
    const events = stepFailureEvents('load', cause);
    const details = failureDetails(events);
    assert.equal(details.failedStep, 'load');
    assert.deepEqual(details.otherFailedSteps, []);
    const lines = (details.error ?? '').split('\n');
    assert.equal(lines[0], 'Error: 적재 실패: 잠금 대기 시간 초과');
    assert.ok(lines.length > 1 && lines.length <= 6, 'the message and at most five stack frames');
    assert.match(lines[1] ?? '', /^\s+at /);
  });

  it('ignores steps terminated by a cancel and lists further failures', () => {
    const events = [
      event('STEP_FAILURE', {
        stepKey: 'sidecar',
        level: 'warn',
        message: "asset 'sidecar' was terminated.",
        data: { canceled: true },
      }),
      ...stepFailureEvents('extract', new Error('HTTP 503 from the source')),
      event('STEP_FAILURE', {
        stepKey: 'enrich',
        level: 'error',
        message: 'Error in enrich: boom',
        data: null,
      }),
    ];
    const details = failureDetails(events);
    assert.equal(details.failedStep, 'extract');
    assert.deepEqual(details.otherFailedSteps, ['enrich']);
    assert.match(details.error ?? '', /^Error: HTTP 503 from the source/);
  });

  it('falls back to the RUN_FAILURE message when no step ran', () => {
    const details = failureDetails([
      event('RUN_FAILURE', {
        level: 'error',
        message: "The run could not start: Invalid config for resource 'slack'",
      }),
    ]);
    assert.equal(details.failedStep, undefined);
    assert.equal(details.error, "The run could not start: Invalid config for resource 'slack'");
    assert.deepEqual(failureDetails([]), { failedStep: undefined, error: undefined, otherFailedSteps: [] });
  });
});
