// Starting and stopping the real processes under test: the walrelay binary
// built from this repository, a throwaway Postgres (`walrelay postgres`)
// and the demo server (`walrelay demo`). Every process started here is
// tracked and killed by stopAll(), and also on exit as a last resort.

import { spawn, execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const repoRoot = resolve(here, '..', '..');
/** Where screenshots and logs go (gitignored). */
export const artifacts = resolve(here, '..', 'artifacts');
/** The built chat app the demo serves. */
export const appDist = join(repoRoot, 'examples', 'chat', 'dist');

const running = new Set();
const tempDirs = [];

// Last resort when the run ends without stopAll (a crash, Ctrl-C): SIGTERM,
// so that `walrelay postgres` still stops its cluster after we are gone.
function killRunning() {
  for (const p of running) {
    try {
      p.kill('SIGTERM');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killRunning);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killRunning();
    process.exit(130);
  });
}

/** Fails unless the chat app has been built. */
export function requireAppBuild() {
  if (!existsSync(join(appDist, 'index.html'))) {
    throw new Error(
      `${appDist}/index.html is missing: build the chat app first (cd examples/chat && npm ci && npm run build)`,
    );
  }
}

/**
 * Builds the server binary (go build ./cmd/server, from the repository
 * root) into a temporary folder, or uses $WALRELAY_BIN. Returns its path.
 */
export async function buildBinary() {
  if (process.env.WALRELAY_BIN) return process.env.WALRELAY_BIN;
  const dir = mkdtempSync(join(tmpdir(), 'walrelay-e2e-'));
  tempDirs.push(dir);
  const out = join(dir, 'walrelay');
  try {
    await promisify(execFile)('go', ['build', '-o', out, './cmd/server'], { cwd: repoRoot, timeout: 300_000 });
  } catch (e) {
    throw new Error(`go build ./cmd/server failed:\n${e.stderr ?? e.message}`);
  }
  return out;
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts a process with its output teed to artifacts/<name>.log, env added
 * to the environment. Returns the child and a promise of its exit.
 */
function start(name, bin, args, env = {}) {
  mkdirSync(artifacts, { recursive: true });
  const log = createWriteStream(join(artifacts, `${name}.log`), { flags: 'w' });
  const child = spawn(bin, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(child);
  const exited = new Promise((ok) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      ok({ code, signal });
    }),
  );
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  if (process.env.WALRELAY_E2E_DEBUG) {
    child.stdout.pipe(process.stderr, { end: false });
    child.stderr.pipe(process.stderr, { end: false });
  }
  return { child, exited };
}

/** Kills a child (SIGTERM, then SIGKILL after graceMs) and waits for it to exit. */
export async function kill(proc, { signal = 'SIGTERM', graceMs = 10_000 } = {}) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(signal);
  const t = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(t);
}

/** Kills every process still running, the demo servers before Postgres, and removes the built binary. */
export async function stopAll() {
  const list = [...running].reverse();
  for (const child of list) {
    const exited = new Promise((ok) => (child.exitCode !== null || child.signalCode !== null ? ok() : child.on('exit', ok)));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Starts `walrelay postgres` and resolves with its URL (the first line of
 * its stdout) once printed; fails after timeoutMs or if it exits first.
 */
export async function startPostgres(bin, { timeoutMs = 60_000 } = {}) {
  const proc = start('postgres', bin, ['postgres']);
  const url = await new Promise((ok, fail) => {
    let buf = '';
    const t = setTimeout(() => fail(new Error(`walrelay postgres printed no URL within ${timeoutMs} ms (see artifacts/postgres.log)`)), timeoutMs);
    proc.child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        ok(buf.slice(0, nl).trim());
      }
    });
    proc.exited.then(({ code, signal }) => {
      clearTimeout(t);
      fail(new Error(`walrelay postgres exited (${code ?? signal}) before printing its URL (see artifacts/postgres.log)`));
    });
  });
  return { ...proc, url };
}

/**
 * Starts `walrelay demo` on addr (host:port) against databaseUrl, serving
 * the built chat app, and resolves once GET /readyz answers 200.
 */
export async function startDemo(bin, { databaseUrl, addr, name = 'demo', timeoutMs = 30_000 }) {
  const proc = start(name, bin, ['demo', '--database-url', databaseUrl, '--listen', addr, '--app', appDist]);
  return whenReady(proc, { addr, name, timeoutMs });
}

/**
 * Starts `walrelay serve --config <config>` with env added to the
 * environment, and resolves once GET /readyz on addr answers 200. Used by
 * the realtime-js compatibility tests (compat/realtime-js).
 */
export async function startServe(bin, { config, env, addr, name = 'serve', timeoutMs = 30_000 }) {
  const proc = start(name, bin, ['serve', '--config', config], env);
  return whenReady(proc, { addr, name, timeoutMs });
}

// whenReady resolves with proc once GET /readyz on addr answers 200.
async function whenReady(proc, { addr, name, timeoutMs }) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  proc.exited.then((e) => (exited = e));
  for (;;) {
    if (exited) throw new Error(`walrelay ${name} exited (${exited.code ?? exited.signal}) before it was ready (see artifacts/${name}.log)`);
    try {
      const res = await fetch(`http://${addr}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await kill(proc);
      throw new Error(`walrelay ${name} was not ready within ${timeoutMs} ms (see artifacts/${name}.log)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
