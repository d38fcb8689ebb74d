import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { typecheck } from '../typecheck.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

describe('types from the Register', () => {
  it('a generated file types models, rows and inserts', () => {
    expect(typecheck([path.join(fixtures, 'walrelay.gen.ts'), path.join(fixtures, 'typed-example.tsx')])).toEqual([]);
  });

  it('and rejects wrong uses', () => {
    const errs = typecheck([path.join(fixtures, 'walrelay.gen.ts'), path.join(fixtures, 'typed-errors.tsx')]);
    const lines = new Set(errs.map((e) => e.split(':')[1]));
    expect([...lines].sort()).toEqual(['10', '11', '8', '9']);
  });
});
