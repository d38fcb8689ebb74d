import { describe, expect, it } from 'vitest';
import { compareValues, filterString, matches, orderString, queryString, rowComparator } from '../../src/index.js';
import { requestParams } from '../../src/query.js';

describe('where → PostgREST', () => {
  it('translates objects', () => {
    expect(filterString({ room_id: 5 })).toBe('room_id=eq.5');
    expect(filterString({ room_id: { gte: 5 } })).toBe('room_id=gte.5');
    expect(filterString({ room_id: { gte: 5, lt: 9 }, body: { like: 'a*' } })).toBe('body=like.a*&room_id=lt.9&room_id=gte.5');
    expect(filterString({ id: [1, 2] })).toBe('id=in.(1%2C2)');
    expect(filterString({ edited_at: null })).toBe('edited_at=is.null');
    expect(filterString({ read: { is: true } })).toBe('read=is.true');
    expect(filterString({ kind: { not: { in: ['a,b', 'c'] } } })).toBe(`kind=${encodeURIComponent('not.in.("a,b",c)')}`);
    expect(() => filterString({ x: { nope: 1 } as never })).toThrow(/unknown filter operator/);
  });

  it('orders and query strings', () => {
    expect(orderString('created_at.desc,id')).toBe('created_at.desc,id.asc');
    expect(orderString([{ column: 'created_at', desc: true }])).toBe('created_at.desc');
    expect(queryString({ where: { room_id: 5 }, order: 'id.desc', limit: 10, count: true })).toBe(
      'room_id=eq.5&order=id.desc&limit=10&count=exact',
    );
    expect(requestParams({ where: { a: { gt: 1, lt: 3 } }, limit: 2 })).toEqual({ a: ['lt.3', 'gt.1'], limit: '2' });
  });
});

describe('client-side matching', () => {
  const row = { id: 1, room_id: 5, body: 'Hello World', big: '9007199254740993', at: '2026-11-25T17:00:00Z', n: null, ok: true };
  it('follows SQL semantics', () => {
    expect(matches(row, { room_id: 5 })).toBe(true);
    expect(matches(row, { room_id: { gte: 6 } })).toBe(false);
    expect(matches(row, { room_id: [4, 5] })).toBe(true);
    expect(matches(row, { body: { like: 'Hello*' } })).toBe(true);
    expect(matches(row, { body: { like: 'hello%' } })).toBe(false);
    expect(matches(row, { body: { ilike: 'hello_world' } })).toBe(true);
    expect(matches(row, { n: null })).toBe(true);
    expect(matches(row, { n: { eq: 1 } })).toBe(false);
    expect(matches(row, { n: { not: { eq: 1 } } })).toBe(false); // NULL: unknown, not true
    expect(matches(row, { room_id: { not: { eq: 1 } } })).toBe(true);
    expect(matches(row, { big: { gt: 9007199254740992 } })).toBe(true);
    expect(matches(row, { at: { gt: '2026-11-25T16:59:59.999Z' } })).toBe(true);
    expect(matches(row, { ok: { is: true } })).toBe(true);
  });

  it('orders like the server', () => {
    expect(compareValues('2026-11-25T17:00:00Z', '2026-11-25T17:00:00.123Z')).toBe(-1);
    expect(compareValues('B', 'a')).toBe(-1); // bytewise
    const rows = [{ id: 3, t: null }, { id: 1, t: 'b' }, { id: 2, t: 'a' }, { id: 4, t: 'a' }];
    expect([...rows].sort(rowComparator([{ column: 't' }], 'id')).map((r) => r.id)).toEqual([2, 4, 1, 3]);
    expect([...rows].sort(rowComparator([{ column: 't', desc: true }], 'id')).map((r) => r.id)).toEqual([3, 1, 2, 4]);
  });
});
