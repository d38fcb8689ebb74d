import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { typecheck } from '../typecheck.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

// Each test is a whole TypeScript compile: seconds on a quiet machine, and
// several times that on a loaded one (21 s seen at load 20 on 2 cores),
// so the unit default of 15 s is too tight for them.
describe('types from the Register', { timeout: 120_000 }, () => {
  it('a generated file types models, rows and inserts', () => {
    expect(typecheck([path.join(fixtures, 'walrelay.gen.ts'), path.join(fixtures, 'typed-example.tsx')])).toEqual([]);
  });

  it('and rejects wrong uses', () => {
    const errs = typecheck([path.join(fixtures, 'walrelay.gen.ts'), path.join(fixtures, 'typed-errors.tsx')]);
    const lines = new Set(errs.map((e) => e.split(':')[1]));
    expect([...lines].sort()).toEqual(['10', '11', '8', '9']);
  });
});
