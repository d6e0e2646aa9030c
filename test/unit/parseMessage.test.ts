import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as v from 'valibot';
import {
  broadcastSchemas,
  checkForUpdatesRequestSchema,
  getStateRequestSchema,
  isBroadcast,
  isPageMessage,
  isReply,
  parsePageMessage,
  readyRequestSchema,
  reportErrorsMessageSchema,
  setIdentityRequestSchema,
  setOverrideRequestSchema,
} from '../../src/core/parseMessage.js';
import { MAX_SAMPLES, type ReadyRequest, type ReportErrorsMessage, type RolledBackEvent } from '../../src/core/clientMessages.js';
import type {
  CheckForUpdatesRequest,
  GetStateRequest,
  SetIdentityRequest,
  SetOverrideRequest,
  WorkerEvent,
} from '../../src/core/protocol.js';

const report: ReportErrorsMessage = {
  type: 'REPORT_ERRORS',
  nonce: 'n1',
  entries: [
    { module: 'cart', version: '2.0.0', kind: 'runtime', count: 3, samples: [{ message: 'TypeError: x', stack: 'at f' }] },
    { module: null, version: null, kind: 'boot', count: 1, samples: [] },
  ],
  dropped: 12,
};

describe('page messages', () => {
  it('accepts what the page client sends', () => {
    expect(parsePageMessage(report)).toEqual(report);
    expect(parsePageMessage({ type: 'READY', nonce: 'n1' })).toEqual({ type: 'READY', nonce: 'n1' });
    // A page without an injected snapshot (navigation: false) vouches for its client's snapshot.
    expect(parsePageMessage({ type: 'READY', nonce: null })).toEqual({ type: 'READY', nonce: null });
    expect(isPageMessage({ ...report, nonce: null })).toBe(true);
  });

  it('names every problem of a malformed message', () => {
    const bad = {
      ...report,
      entries: [
        { module: 'Cart', version: '2.0.0', kind: 'crash', count: 0, samples: [] },
        { module: 'cart', version: null, kind: 'runtime', count: 1, samples: Array(MAX_SAMPLES + 1).fill({ message: 'x' }) },
      ],
      dropped: -1,
    };
    let problems: string[] = [];
    try {
      parsePageMessage(bad);
    } catch (err) {
      expect(err).toMatchObject({ name: 'invalid-document' });
      problems = (err as { details: { problems: string[] } }).details.problems;
    }
    expect(problems.join('\n')).toMatch(/entries\[0\]\.module: expected a module name or null, got "Cart"/);
    expect(problems.join('\n')).toMatch(/entries\[0\]\.kind: expected one of boot, runtime, chunk-load, fatal/);
    expect(problems.join('\n')).toMatch(/entries\[0\]\.count: expected a count/);
    expect(problems.join('\n')).toMatch(/entries\[1\]\.samples: expected at most 3 samples/);
    expect(problems.join('\n')).toMatch(/dropped: expected a count/);
  });

  it('accepts the requests and refuses malformed ones: the worker acts on nothing unchecked', () => {
    expect(isPageMessage({ type: 'GET_STATE' })).toBe(true);
    expect(isPageMessage({ type: 'SET_IDENTITY', userId: 'u-1' })).toBe(true);
    expect(isPageMessage({ type: 'SET_IDENTITY', userId: null })).toBe(true);
    expect(isPageMessage({ type: 'SET_IDENTITY', userId: '' })).toBe(false);
    expect(isPageMessage({ type: 'SET_IDENTITY', userId: 'x'.repeat(257) })).toBe(false);
    expect(isPageMessage({ type: 'SET_OVERRIDE', module: 'cart', version: '2.0.0' })).toBe(true);
    expect(isPageMessage({ type: 'SET_OVERRIDE', module: 'cart' })).toBe(false);
    expect(isPageMessage({ type: 'SET_OVERRIDE', module: '../cart', version: null })).toBe(false);
    expect(isPageMessage({ type: 'SKIP_WAITING' })).toBe(false);
    expect(isPageMessage('GET_STATE')).toBe(false);
  });

  it('refuses half-attributed entries and empty nonces', () => {
    expect(isPageMessage({ type: 'READY', nonce: '' })).toBe(false);
    expect(isPageMessage({ ...report, entries: [{ module: 'cart', version: null, kind: 'boot', count: 1, samples: [] }] })).toBe(false);
    expect(isPageMessage(null)).toBe(false);
  });

  it('checks exactly the types the page client is written against', () => {
    expectTypeOf<v.InferOutput<typeof readyRequestSchema>>().toEqualTypeOf<ReadyRequest>();
    expectTypeOf<v.InferOutput<typeof reportErrorsMessageSchema>>().toEqualTypeOf<ReportErrorsMessage>();
    expectTypeOf<v.InferOutput<typeof checkForUpdatesRequestSchema>>().toEqualTypeOf<CheckForUpdatesRequest>();
    expectTypeOf<v.InferOutput<typeof getStateRequestSchema>>().toEqualTypeOf<GetStateRequest>();
    expectTypeOf<v.InferOutput<typeof setIdentityRequestSchema>>().toEqualTypeOf<SetIdentityRequest>();
    expectTypeOf<v.InferOutput<typeof setOverrideRequestSchema>>().toEqualTypeOf<SetOverrideRequest>();
    type Broadcasts = { [T in keyof typeof broadcastSchemas]: v.InferOutput<(typeof broadcastSchemas)[T]> }[keyof typeof broadcastSchemas];
    expectTypeOf<Broadcasts>().toEqualTypeOf<WorkerEvent | RolledBackEvent>();
  });
});

describe('broadcasts and replies', () => {
  it('recognises the worker broadcasts and nothing else', () => {
    expect(isBroadcast({ type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-error', to: '1.0.0' })).toBe(true);
    expect(isBroadcast({ type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-error', to: null })).toBe(true);
    expect(isBroadcast({ type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-error' })).toBe(false);
    expect(isBroadcast({ type: 'VERSION_STAGED', module: 'cart', version: '2.0.0' })).toBe(true);
    expect(isBroadcast({ type: 'VERSION_STAGED', module: 'cart' })).toBe(false);
    expect(isBroadcast({ type: 'WORKER_DISABLED' })).toBe(true);
    expect(isBroadcast({ type: 'SHELL_UPDATED' })).toBe(true);
    expect(isBroadcast({ type: 'GET_STATE' })).toBe(false);
  });

  it('recognises a reply, with its result or its error code, message and details', () => {
    expect(isReply({ type: 'REPLY', ok: true, result: null })).toBe(true);
    expect(isReply({ type: 'REPLY', ok: false, error: { code: 'kill-switch', message: 'm', details: { what: 'w' } } })).toBe(true);
    expect(isReply({ type: 'REPLY', ok: false, error: { code: 'kill-switch', message: 'm' } })).toBe(false);
    expect(isReply({ type: 'REPLY', ok: false, error: { code: 'kill-switch', message: 'm', details: 'w' } })).toBe(false);
    expect(isReply({ type: 'REPLY', ok: 'yes', result: 1 })).toBe(false);
  });
});
