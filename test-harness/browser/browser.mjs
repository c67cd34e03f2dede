// browser.mjs: what the Chromium suites (and bench/browser-store.mjs) share: Debian's
// Chromium and the flags it runs with, and scripts/serve.mjs started on 127.0.0.1 (a free
// port) after checking that Chromium and the build are there.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
export const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** The page side of the suites' `cu(body, arg)`: pass it to page.evaluate (or an engine's
 * eval) with `[body, arg]`. Runs `body` (an async function body given `CuWASM`, `CuError`
 * and `arg`) with /glue.js; a rejection comes back as `{ error: code or name, message }`. */
export const RUN_IN_PAGE = async ([body, arg]) => {
  const { CuWASM, CuError } = await import('/glue.js');
  try {
    return await new Function('CuWASM', 'CuError', 'arg', `return (async () => { ${body} })()`)(CuWASM, CuError, arg);
  } catch (e) {
    return { error: e.code || e.name, message: e.message };
  }
};

/** Starts scripts/serve.mjs; resolves to `{ server, url }`. */
export async function startServer() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get install chromium\``);
  }
  if (!existsSync(join(ROOT, 'dist/cu.wasm'))) {
    throw new Error('dist/cu.wasm is missing: build it first with `bash scripts/build.sh`');
  }
  const server = spawn(process.execPath, [join(ROOT, 'scripts/serve.mjs')], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) resolve(m[0]);
    });
    server.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}: ${out}`)));
  });
  return { server, url };
}
