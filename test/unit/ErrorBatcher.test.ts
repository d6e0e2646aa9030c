import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorBatcher, type ErrorBatch, type ErrorReport } from '../../src/client/ErrorBatcher.js';
import { MAX_BATCH_ENTRIES, MAX_MESSAGE_CHARS, MAX_SAMPLES, MAX_STACK_CHARS } from '../../src/core/clientMessages.js';
import { parsePageMessage } from '../../src/core/parseMessage.js';

const cart: ErrorReport = {
  ref: { module: 'cart', version: '2.0.0' },
  kind: 'runtime',
  message: 'TypeError: x',
  stack: 'TypeError: x\n    at f',
};
const shell: ErrorReport = { ref: null, kind: 'runtime', message: 'Error: shell' };

describe('ErrorBatcher', () => {
  let sent: ErrorBatch[];
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
  });
  afterEach(() => vi.useRealTimers());

  it('sends nothing until the flush interval, then one batch counted per module@version and kind', () => {
    const batcher = new ErrorBatcher((b) => sent.push(b));
    batcher.report(() => cart);
    batcher.report(() => cart);
    batcher.report(() => ({ ...cart, kind: 'boot' }));
    batcher.report(() => shell);
    vi.advanceTimersByTime(249);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.dropped).toBe(0);
    expect(sent[0]!.entries.map((e) => [e.module, e.version, e.kind, e.count])).toEqual([
      ['cart', '2.0.0', 'runtime', 2],
      ['cart', '2.0.0', 'boot', 1],
      [null, null, 'runtime', 1],
    ]);
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(1);
  });

  it('keeps a few trimmed samples per entry', () => {
    const batcher = new ErrorBatcher((b) => sent.push(b));
    for (let i = 0; i < 10; i++)
      batcher.report(() => ({ ...cart, message: `m${i}`.padEnd(2 * MAX_MESSAGE_CHARS, '.'), stack: 's'.repeat(2 * MAX_STACK_CHARS) }));
    batcher.flush();
    const [entry] = sent[0]!.entries;
    expect(entry!.count).toBe(10);
    expect(entry!.samples).toHaveLength(MAX_SAMPLES);
    expect(entry!.samples[0]!.message.startsWith('m0')).toBe(true);
    expect(entry!.samples[0]!.message).toHaveLength(MAX_MESSAGE_CHARS);
    expect(entry!.samples[0]!.stack).toHaveLength(MAX_STACK_CHARS);
  });

  it('in a storm of 10,000 errors a second, describes only the budget and counts the rest', () => {
    const batcher = new ErrorBatcher((b) => sent.push(b), { flushMs: 250, budget: 100 });
    let described = 0;
    for (let ms = 0; ms < 1000; ms++) {
      for (let i = 0; i < 10; i++) batcher.report(() => (described++, cart));
      vi.advanceTimersByTime(1);
    }
    expect(sent).toHaveLength(4);
    expect(described).toBe(400);
    for (const batch of sent) {
      expect(batch.entries).toHaveLength(1);
      expect(batch.entries[0]!.count).toBe(100);
      expect(batch.dropped).toBe(2400);
      // What the page sends is what the worker accepts.
      expect(parsePageMessage({ type: 'REPORT_ERRORS', nonce: 'n1', ...batch })).toMatchObject({ type: 'REPORT_ERRORS' });
    }
  });

  it('counts entries past the per-batch limit as dropped', () => {
    const batcher = new ErrorBatcher((b) => sent.push(b), { budget: 1000 });
    for (let i = 0; i < MAX_BATCH_ENTRIES + 5; i++) batcher.report(() => ({ ...cart, ref: { module: `m${i}`, version: '1.0.0' } }));
    batcher.flush();
    expect(sent[0]!.entries).toHaveLength(MAX_BATCH_ENTRIES);
    expect(sent[0]!.dropped).toBe(5);
  });

  it('flush() sends at once and starts a fresh budget; an empty flush sends nothing', () => {
    const batcher = new ErrorBatcher((b) => sent.push(b), { budget: 1 });
    batcher.flush();
    expect(sent).toEqual([]);
    batcher.report(() => cart);
    batcher.report(() => cart);
    batcher.flush();
    batcher.report(() => shell);
    batcher.flush();
    expect(sent.map((b) => [b.entries.map((e) => e.count), b.dropped])).toEqual([
      [[1], 1],
      [[1], 0],
    ]);
    vi.advanceTimersByTime(1000);
    expect(sent).toHaveLength(2);
  });
});
