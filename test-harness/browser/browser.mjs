// browser.mjs: what the Chromium suites (and bench/browser-store.mjs) share: Debian's
// Chromium and the flags it runs with, launchChromium/closeContext (every Chromium the
// suites start, with JS coverage when CU_BROWSER_COVERAGE is set), and scripts/serve.mjs
// started on 127.0.0.1 (a free port) after checking that Chromium and the build are there.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

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

// JS coverage (scripts/browser-coverage.mjs). With CU_BROWSER_COVERAGE=<dir> set, every
// page of a context given to coverContext (launchChromium does it) collects V8's precise
// coverage from its creation, and closePage/closeContext write the entries of our own files
// (glue.js, idb.js, compat.js, playground/*.js, served from the repository root on
// 127.0.0.1) to <dir>/<pid>-<n>.json before closing. V8 reports only the scripts still
// alive, so a page's page.goto and page.reload (the suites' only navigations) first take
// what the document so far ran (stopJSCoverage, then startJSCoverage again). Unset, none of
// this runs. Not covered: Web Workers (page.coverage sees the page's own scripts only),
// navigations the page makes by itself, and a browser killed on purpose (its pages'
// coverage is lost).
export const COVERAGE_DIR = process.env.CU_BROWSER_COVERAGE || '';
const OURS = /^\/(?:glue|idb|compat)\.js$|^\/playground\/[^/]+\.js$/;
const covering = new Map(); // page -> { started: the promise of its startJSCoverage, entries }
let written = 0;

const ours = (entries) =>
  entries.filter((e) => {
    try {
      const u = new URL(e.url);
      return u.hostname == '127.0.0.1' && OURS.test(u.pathname);
    } catch {
      return false;
    }
  });
const start = (page) => page.coverage.startJSCoverage({ resetOnNavigation: false, reportAnonymousScripts: false }).catch(() => {});

function cover(page) {
  if (covering.has(page)) return covering.get(page).started;
  // Called synchronously from the 'page' event: the start goes out before the page's
  // first navigation.
  const c = { started: start(page), entries: [] };
  covering.set(page, c);
  for (const name of ['goto', 'reload']) {
    const navigate = page[name];
    page[name] = async (...a) => {
      await take(page);
      return navigate.apply(page, a);
    };
  }
  return c.started;
}

/** Keeps what `page` ran so far and starts again (`again`), or stops. */
async function take(page, again = true) {
  const c = covering.get(page);
  if (!c) return;
  await c.started;
  try {
    c.entries.push(...ours(await page.coverage.stopJSCoverage()));
  } catch {} // the page or its browser is gone
  c.started = again ? start(page) : null;
}

/** Starts coverage on every page of `context`, open or to come (nothing without
 * CU_BROWSER_COVERAGE). */
export async function coverContext(context) {
  if (!COVERAGE_DIR) return;
  context.on('page', cover);
  await Promise.all(context.pages().map(cover));
}

/** Stops `page`'s coverage and writes the entries of our files (nothing if it had none). */
async function flush(page) {
  const c = covering.get(page);
  if (!c) return;
  await take(page, false);
  covering.delete(page);
  if (!c.entries.length) return;
  mkdirSync(COVERAGE_DIR, { recursive: true });
  writeFileSync(join(COVERAGE_DIR, `${process.pid}-${++written}.json`), JSON.stringify(c.entries));
}

/** Chromium (Debian's, headless, ARGS) on the profile directory `profile`, as
 * chromium.launchPersistentContext; `options` add to or replace the defaults. With
 * CU_BROWSER_COVERAGE set, its pages collect coverage (close it with closeContext). */
export async function launchChromium(profile, options = {}) {
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, ...options });
  await coverContext(context);
  return context;
}

/** Closes `page`, writing its coverage first. */
export async function closePage(page) {
  await flush(page);
  await page.close();
}

/** Writes the coverage of `context`'s pages (and stops it): before a browser connected
 * over CDP is shut down. */
export async function flushCoverage(context) {
  await Promise.all(context.pages().map(flush));
}

/** Closes `context`, writing its pages' coverage first. */
export async function closeContext(context) {
  await flushCoverage(context);
  await context.close();
}
