import { describe, expect, it } from 'vitest';
import { RecentBlobs } from '../../sw/RecentBlobs.js';

const blob = (bytes: number) => new Blob([new Uint8Array(bytes)]);

describe('RecentBlobs (files served from memory)', () => {
  it('keeps at most its budget, dropping the least recently served first', () => {
    const recent = new RecentBlobs(100);
    recent.set('a', blob(40));
    recent.set('b', blob(40));
    expect(recent.get('a')?.size).toBe(40); // a is now more recent than b
    recent.set('c', blob(40));
    expect(recent.get('b')).toBeUndefined();
    expect([recent.get('a')?.size, recent.get('c')?.size]).toEqual([40, 40]);
  });

  it('never holds a blob larger than the budget, and forgets deleted ones', () => {
    const recent = new RecentBlobs(100);
    recent.set('a', blob(60));
    recent.set('huge', blob(101));
    expect(recent.get('huge')).toBeUndefined();
    expect(recent.get('a')?.size).toBe(60);
    recent.delete('a');
    expect(recent.get('a')).toBeUndefined();
    recent.set('b', blob(100)); // the deleted bytes no longer count
    expect(recent.get('b')?.size).toBe(100);
  });
});
