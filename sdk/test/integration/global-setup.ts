// Starts a real walrelay for the integration tests: builds the Go binary,
// starts `walrelay postgres` (throwaway Postgres with the demo schema) and
// `walrelay serve --config ../sql/demo.yaml`, and a small control server so
// tests can restart walrelay on the same port. Everything is killed in the
// teardown. Env: WALRELAY_BIN uses a prebuilt binary instead of building.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = process.env.WALRELAY_REPO ?? path.resolve(here, '../../..');
const secret = 'sdk-integration-test-secret-0123456789abcdef';

export interface Walrelay {
  url: string;
  dbUrl: string;
  secret: string;
  control: string;
  bin: string;
  config: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    walrelay: Walrelay;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function firstLine(p: ChildProcess, what: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`${what}: no output in ${ms} ms\n${err}`)), ms);
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(t);
        resolve(buf.slice(0, i).trim());
      }
    });
    p.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited with ${code}\n${err}`));
    });
    p.once('error', (e) => {
      clearTimeout(t);
      reject(new Error(`${what}: ${e.message}`));
    });
  });
}

async function waitReady(url: string, ms: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  proc.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`walrelay serve exited:\n${log()}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100)); // poll interval, not synchronization
  }
  throw new Error(`walrelay not ready in ${ms} ms:\n${log()}`);
}

function stop(p: ChildProcess | null): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'walrelay-sdk-'));
  let bin = process.env.WALRELAY_BIN ?? '';
  if (!bin) {
    bin = path.join(tmp, 'walrelay');
    const b = spawnSync('go', ['build', '-o', bin, './cmd/server'], { cwd: repo, encoding: 'utf8', timeout: 600_000 });
    if (b.status !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`go build ./cmd/server failed:\n${b.stderr}`);
    }
  }
  const pg = spawn(bin, ['postgres'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let serve: ChildProcess | null = null;
  let control: http.Server | null = null;
  const teardown = async () => {
    control?.close();
    await stop(serve);
    await stop(pg);
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const dbUrl = await firstLine(pg, 'walrelay postgres', 120_000);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = path.join(repo, 'sql', 'demo.yaml');
    const start = async () => {
      let log = '';
      const p = spawn(bin, ['serve', '--config', config], {
        cwd: repo,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, DATABASE_URL: dbUrl, LISTEN: `127.0.0.1:${port}`, JWT_SECRET: secret },
      });
      p.stderr?.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-20_000);
        if (process.env.WALRELAY_SDK_DEBUG) process.stderr.write(d);
      });
      serve = p;
      await waitReady(url, 60_000, p, () => log);
    };
    await start();
    // Control server: POST /restart kills walrelay and starts it again on the same port.
    control = http.createServer((req, res) => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const op = req.url === '/stop' ? stop(serve) : req.url === '/start' ? start() : stop(serve).then(start);
      op.then(
        () => res.writeHead(200).end('ok'),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    });
    await new Promise<void>((r) => control!.listen(0, '127.0.0.1', r));
    const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
    project.provide('walrelay', { url, dbUrl, secret, control: controlUrl, bin, config });
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
