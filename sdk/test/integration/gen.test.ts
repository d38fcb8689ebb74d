import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { typecheck } from '../typecheck.js';
import { env } from './helpers.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

function generate(): { ok: true; ts: string } | { ok: false; missing: boolean; err: string } {
  const r = spawnSync(env.bin, ['gen', 'ts', '--config', env.config], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: env.dbUrl, JWT_SECRET: env.secret, LISTEN: '127.0.0.1:0' },
    timeout: 60_000,
  });
  if (r.status === 0) return { ok: true, ts: r.stdout };
  return { ok: false, missing: /unknown command/.test(r.stderr), err: r.stderr };
}

describe('walrelay gen ts', () => {
  it('generated types make the hooks typed', (ctx) => {
    const g = generate();
    if (!g.ok && g.missing) {
      ctx.skip('the binary has no `gen` subcommand yet');
      return;
    }
    if (!g.ok) throw new Error(`walrelay gen ts failed:\n${g.err}`);
    expect(g.ts).toMatch(/export interface Message\b/);
    expect(g.ts).toMatch(/export interface WalrelayModels\b/);
    expect(g.ts).toMatch(/declare module ['"]@walrelay\/client['"]/);
    const dir = mkdtempSync(path.join(tmpdir(), 'walrelay-gen-'));
    try {
      // The fixtures import './walrelay.gen': put the real output there.
      writeFileSync(path.join(dir, 'walrelay.gen.ts'), g.ts);
      for (const f of ['typed-example.tsx', 'typed-errors.tsx']) {
        writeFileSync(path.join(dir, f), readFileSync(path.join(fixtures, f), 'utf8'));
      }
      expect(typecheck([path.join(dir, 'walrelay.gen.ts'), path.join(dir, 'typed-example.tsx')])).toEqual([]);
      const errs = typecheck([path.join(dir, 'walrelay.gen.ts'), path.join(dir, 'typed-errors.tsx')]);
      expect(new Set(errs.map((e) => e.split(':')[1])).size).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
