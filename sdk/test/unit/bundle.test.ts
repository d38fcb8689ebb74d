import { build, type Metafile } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = mkdtempSync(path.join(tmpdir(), 'walrelay-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Bundle {
  dir: string;
  meta: Metafile;
  entry: string;
}

async function bundle(name: string): Promise<Bundle> {
  const dir = path.join(out, name);
  const r = await build({
    entryPoints: [path.join(here, '../bundle', `${name}.ts`)],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    outdir: dir,
    metafile: true,
    external: ['react'],
    logLevel: 'silent',
  });
  const entry = Object.keys(r.metafile.outputs).find((f) => r.metafile.outputs[f]!.entryPoint)!;
  return { dir, meta: r.metafile, entry };
}

/** Output files loaded when the entry runs, following static or also dynamic imports. */
function reachable(b: Bundle, dynamic: boolean): string[] {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const imp of b.meta.outputs[f]?.imports ?? []) {
      if (imp.external) continue;
      if (imp.kind === 'dynamic-import' && !dynamic) continue;
      visit(imp.path);
    }
  };
  visit(b.entry);
  return [...seen];
}

const code = (files: string[]) => files.map((f) => readFileSync(f, 'utf8')).join('\n');
const inputs = (b: Bundle, files: string[]) => files.flatMap((f) => Object.keys(b.meta.outputs[f]?.inputs ?? {}));

describe('optional realtime', () => {
  it('an HTTP-only app loads no WebSocket code', async () => {
    const b = await bundle('http-only');
    const loaded = reachable(b, false);
    expect(code(loaded)).not.toMatch(/WebSocket/);
    expect(inputs(b, loaded).some((i) => i.endsWith('src/ws.ts'))).toBe(false);
    // The hooks and the HTTP client are there.
    expect(inputs(b, loaded).some((i) => i.endsWith('src/http.ts'))).toBe(true);
  });

  it('an app using only HTTPTransport can load no WebSocket code at all, not even lazily', async () => {
    const b = await bundle('transport-only');
    expect(code(reachable(b, true))).not.toMatch(/WebSocket/);
  });

  it('a realtime app gets the socket code as a lazily loaded chunk', async () => {
    const b = await bundle('realtime');
    expect(code(reachable(b, false))).not.toMatch(/WebSocket/);
    expect(code(reachable(b, true))).toMatch(/WebSocket/);
  });
});
