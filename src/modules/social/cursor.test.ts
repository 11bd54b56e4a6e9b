import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.ts';
import { decodeCursor, encodeCursor, pageSize, toPage } from './cursor.ts';

describe('pagination cursors', () => {
  it('round-trips a position through an opaque url-safe string', () => {
    const c = { at: '2026-11-25 04:33:10.123', id: 42 };
    const s = encodeCursor(c);
    expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(s).not.toContain('2026');
    expect(decodeCursor(s)).toEqual(c);
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('{oops').toString('base64url')],
    ['an object', Buffer.from('{"at":"2026-11-25 04:33:10.123","id":1}').toString('base64url')],
    ['an ISO date', Buffer.from('["2026-11-25T04:33:10.123Z",1]').toString('base64url')],
    ['a fractional id', Buffer.from('["2026-11-25 04:33:10.123",1.5]').toString('base64url')],
    ['a zero id', Buffer.from('["2026-11-25 04:33:10.123",0]').toString('base64url')],
    ['extra items', Buffer.from('["2026-11-25 04:33:10.123",1,2]').toString('base64url')],
  ])('rejects %s with invalid-cursor', (_label, s) => {
    expect(() => decodeCursor(s)).toThrow(AppError);
    try {
      decodeCursor(s);
    } catch (e) {
      expect((e as AppError).code).toBe('invalid-cursor');
      expect((e as AppError).status).toBe(400);
    }
  });

  it('caps page sizes to 1..100', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(5)).toBe(5);
    expect(pageSize(1000)).toBe(100);
    expect(pageSize(0)).toBe(1);
  });

  it('returns a next cursor only when a row beyond the page exists', () => {
    const rows = [1, 2, 3].map((id) => ({ id, at: '2026-01-01 00:00:00.000' }));
    const key = (r: { id: number; at: string }) => ({ at: r.at, id: r.id });
    const full = toPage(rows, 2, key, (r) => r.id);
    expect(full.items).toEqual([1, 2]);
    expect(decodeCursor(full.next_cursor!)).toEqual({ at: '2026-01-01 00:00:00.000', id: 2 });
    expect(toPage(rows, 3, key, (r) => r.id)).toEqual({ items: [1, 2, 3], next_cursor: null });
  });
});
