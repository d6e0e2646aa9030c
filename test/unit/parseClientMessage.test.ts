import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as v from 'valibot';
import { isClientMessage, parseClientMessage, readyRequestSchema, reportErrorsMessageSchema } from '../../src/core/parseClientMessage.js';
import { isRolledBackEvent, MAX_SAMPLES, type ReadyRequest, type ReportErrorsMessage } from '../../src/core/clientMessages.js';

const report: ReportErrorsMessage = {
  type: 'REPORT_ERRORS',
  nonce: 'n1',
  entries: [
    { module: 'cart', version: '2.0.0', kind: 'runtime', count: 3, samples: [{ message: 'TypeError: x', stack: 'at f' }] },
    { module: null, version: null, kind: 'boot', count: 1, samples: [] },
  ],
  dropped: 12,
};

describe('parseClientMessage', () => {
  it('accepts what the page client sends', () => {
    expect(parseClientMessage(report)).toEqual(report);
    expect(parseClientMessage({ type: 'READY', nonce: 'n1' })).toEqual({ type: 'READY', nonce: 'n1' });
    // A page without an injected snapshot (navigation: false) vouches for its client's snapshot.
    expect(parseClientMessage({ type: 'READY', nonce: null })).toEqual({ type: 'READY', nonce: null });
    expect(isClientMessage({ ...report, nonce: null })).toBe(true);
  });

  it('names every problem of a malformed message', () => {
    const bad = {
      ...report,
      entries: [
        { module: 'Cart', version: '2.0.0', kind: 'fatal', count: 0, samples: [] },
        { module: 'cart', version: null, kind: 'runtime', count: 1, samples: Array(MAX_SAMPLES + 1).fill({ message: 'x' }) },
      ],
      dropped: -1,
    };
    let problems: string[] = [];
    try {
      parseClientMessage(bad);
    } catch (err) {
      expect(err).toMatchObject({ name: 'invalid-document' });
      problems = (err as { details: { problems: string[] } }).details.problems;
    }
    expect(problems.join('\n')).toMatch(/entries\[0\]\.module: expected a module name or null, got "Cart"/);
    expect(problems.join('\n')).toMatch(/entries\[0\]\.kind: expected one of boot, runtime, chunk-load/);
    expect(problems.join('\n')).toMatch(/entries\[0\]\.count: expected a count/);
    expect(problems.join('\n')).toMatch(/entries\[1\]\.samples: expected at most 3 samples/);
    expect(problems.join('\n')).toMatch(/dropped: expected a count/);
  });

  it('refuses other messages and half-attributed entries', () => {
    expect(isClientMessage({ type: 'GET_STATE' })).toBe(false);
    expect(isClientMessage({ type: 'READY', nonce: '' })).toBe(false);
    expect(isClientMessage({ ...report, entries: [{ module: 'cart', version: null, kind: 'boot', count: 1, samples: [] }] })).toBe(false);
    expect(isClientMessage(null)).toBe(false);
  });

  it('checks exactly the types the page client is written against', () => {
    expectTypeOf<v.InferOutput<typeof readyRequestSchema>>().toEqualTypeOf<ReadyRequest>();
    expectTypeOf<v.InferOutput<typeof reportErrorsMessageSchema>>().toEqualTypeOf<ReportErrorsMessage>();
  });
});

describe('isRolledBackEvent', () => {
  it('recognises the worker broadcast and nothing else', () => {
    expect(isRolledBackEvent({ type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-error', to: '1.0.0' })).toBe(true);
    expect(isRolledBackEvent({ type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-error', to: null })).toBe(true);
    expect(isRolledBackEvent({ type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-error' })).toBe(false);
    expect(isRolledBackEvent({ type: 'VERSION_STAGED', module: 'cart', version: '2.0.0' })).toBe(false);
  });
});
