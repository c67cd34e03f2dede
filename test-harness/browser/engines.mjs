// engines.mjs: one small adapter over three browser engines and their drivers, so a suite
// is written once (README, "Browsers"): Chromium (Debian's, playwright-core, started by
// browser.mjs's launchChromium), Firefox ESR (Debian's, puppeteer-core over WebDriver BiDi)
// and WebKitGTK (Debian's MiniBrowser under WebKitWebDriver and xvfb-run, selenium-webdriver).
//   const b = await open('firefox', { profile });  // profile: a directory kept by the caller
//   await b.goto(url); await b.eval((arg) => ..., arg); await b.reload(); await b.screenshot(png);
//   await b.close();
// Every step has a timeout and every error names the engine.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import puppeteer from 'puppeteer-core';
import { Builder } from 'selenium-webdriver';
import { CHROMIUM, closeContext, launchChromium } from './browser.mjs';

export const ENGINES = ['chromium', 'firefox', 'webkit'];
const FIREFOX = '/usr/bin/firefox-esr';
const WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const NEEDS = {
  chromium: [[CHROMIUM], 'chromium'],
  firefox: [[FIREFOX], 'firefox-esr'],
  webkit: [[WEBKIT_DRIVER, MINIBROWSER, '/usr/bin/xvfb-run'], 'webkit2gtk-driver libwebkit2gtk-4.1-0 xvfb xauth'],
};
const LAUNCH_MS = 60000;

/** Rejects with `<engine>: <what> timed out` when `promise` takes over `ms`. */
export function within(engine, what, ms, promise) {
  let timer;
  const late = new Promise((_, no) => (timer = setTimeout(() => no(new Error(`${engine}: ${what} timed out after ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const named = (engine, what) => (e) => {
  throw new Error(`${engine}: ${what}: ${e?.message || e}`, { cause: e });
};

// The page side of eval: the result travels as JSON (the same in every driver; undefined
// becomes null).
const wrap = (source) => `(async (arg) => JSON.stringify((await (${source})(arg)) ?? null))`;

/**
 * Starts `engine` on the profile directory `profile` (its storage lives there where the
 * engine allows it: WebKitGTK's automation sessions keep site data in memory only).
 * Options: `prefs` (Firefox preferences), `timeout` (ms per step, default 60 s).
 * Resolves to `{ name, engine, version, goto(url), eval(fn, arg, ms?), reload(), screenshot(path),
 * close(), raw }` (eval runs `fn(arg)` in the page and resolves to its result through JSON);
 * `raw` is the driver's own page object (playwright Page, puppeteer Page, selenium WebDriver).
 */
export async function open(engine, { profile, prefs = {}, timeout = 60000 } = {}) {
  const need = NEEDS[engine];
  if (!need) throw new Error(`unknown engine ${engine} (one of ${ENGINES.join(', ')})`);
  const missing = need[0].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`${engine}: ${missing.join(', ')} missing: install it with \`apt-get install ${need[1]}\``);
  const drivers = { chromium: openChromium, firefox: openFirefox, webkit: openWebKit };
  const launching = drivers[engine](profile, prefs, timeout);
  const d = await within(engine, 'launch', LAUNCH_MS, launching).catch((e) => {
    launching.then((late) => late.close(), () => {}); // a launch that ends after its time is closed
    return named(engine, 'launch')(e);
  });
  const step = (what, p, ms = timeout) => within(engine, what, ms, p).catch(named(engine, what));
  return {
    engine,
    name: `${engine} ${d.version}`,
    version: d.version,
    raw: d.raw,
    goto: (url) => step('goto ' + url, d.goto(url)),
    reload: () => step('reload', d.reload()),
    screenshot: (path) => step('screenshot', d.screenshot(path)),
    eval: async (fn, arg, ms) => JSON.parse(await step('eval', d.eval(wrap(String(fn)), arg ?? null), ms)),
    close: () => step('close', d.close(), 30000),
  };
}

async function openChromium(profile, prefs, timeout) {
  const context = await launchChromium(profile, { timeout: LAUNCH_MS });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  return {
    version: context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1])),
    raw: page,
    goto: (url) => page.goto(url),
    reload: () => page.reload(),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    eval: (source, arg) => page.evaluate(([s, a]) => (0, eval)(s)(a), [source, arg]),
    close: () => closeContext(context),
  };
}

async function openFirefox(profile, prefs, timeout) {
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true, userDataDir: profile,
    extraPrefsFirefox: prefs, timeout: LAUNCH_MS, protocolTimeout: timeout,
  });
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  page.setDefaultTimeout(timeout);
  return {
    version: (await browser.version()).replace(/^firefox\//, ''),
    raw: page,
    goto: (url) => page.goto(url),
    reload: () => page.reload(),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    eval: (source, arg) => page.evaluate((s, a) => (0, eval)(s)(a), source, arg),
    close: () => browser.close(),
  };
}

const freePort = () =>
  new Promise((ok, no) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', no);
  });

// WebKitGTK keeps its site data under XDG_DATA_HOME (outside automation mode).
const webkitEnv = (profile) => ({ ...process.env, HOME: profile, XDG_DATA_HOME: profile, XDG_CACHE_HOME: profile, XDG_CONFIG_HOME: profile });

/**
 * A browser showing `url` on `profile`, with no access to the page (it reports by itself);
 * resolves to `{ close() }`. WebKitGTK's MiniBrowser runs without automation mode (and so
 * without a driver), the only way it keeps site data from one start to the next; Chromium
 * and Firefox go through open().
 */
export async function visit(engine, url, { profile, prefs } = {}) {
  if (engine != 'webkit') {
    const b = await open(engine, { profile, prefs });
    await b.goto(url);
    return { close: () => b.close() };
  }
  const proc = spawn('xvfb-run', ['-a', MINIBROWSER, url], { stdio: 'ignore', detached: true, env: webkitEnv(profile) });
  const exited = new Promise((r) => proc.once('exit', r));
  const signal = (s) => {
    try { process.kill(-proc.pid, s); } catch {}
  };
  const kill = () => signal('SIGKILL');
  process.once('exit', kill); // its own process group outlives ours otherwise
  return {
    close: async () => {
      signal('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
      kill();
      process.off('exit', kill);
    },
  };
}

// WebKitGTK has no headless mode: WebKitWebDriver (and the MiniBrowser it starts) run under
// xvfb-run, in a process group of their own, ended whole at close.
async function openWebKit(profile, prefs, timeout) {
  const port = await freePort();
  const proc = spawn('xvfb-run', ['-a', WEBKIT_DRIVER, `--port=${port}`, '--host=127.0.0.1'], {
    stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: webkitEnv(profile),
  });
  let err = '';
  proc.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  const kill = () => {
    try { process.kill(-proc.pid, 'SIGKILL'); } catch {}
    process.off('exit', kill);
  };
  process.once('exit', kill); // its own process group outlives ours otherwise
  try {
    const server = `http://127.0.0.1:${port}`;
    for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
      if (proc.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${proc.exitCode}: ${err}`);
      if (await fetch(server + '/status').then((r) => r.ok, () => false)) break;
      if (Date.now() - t > LAUNCH_MS) throw new Error(`WebKitWebDriver did not answer on ${server}: ${err}`);
    }
    const driver = await new Builder().usingServer(server).withCapabilities({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    }).build();
    await driver.manage().setTimeouts({ script: timeout, pageLoad: timeout });
    const caps = await driver.getCapabilities();
    return {
      version: caps.get('browserVersion'),
      raw: driver,
      goto: (url) => driver.get(url),
      reload: () => driver.navigate().refresh(),
      screenshot: async (path) => {
        // WebKit captures what it last painted: two frames first (or 0.5 s, if none come).
        await driver.executeAsyncScript('const d = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(d)); setTimeout(d, 500);');
        writeFileSync(path, Buffer.from(await driver.takeScreenshot(), 'base64'));
      },
      eval: (source, arg) => driver.executeAsyncScript(
        `const done = arguments[arguments.length - 1];
         (0, eval)(arguments[0])(arguments[1]).then(done, (e) => done(JSON.stringify({ thrown: String(e && e.stack || e) })));`,
        source, arg).then((r) => {
        const v = JSON.parse(r);
        if (v && typeof v == 'object' && 'thrown' in v && Object.keys(v).length == 1) throw new Error(v.thrown);
        return r;
      }),
      close: async () => {
        try { await within('webkit', 'quit', 15000, driver.quit()); } catch {}
        kill();
      },
    };
  } catch (e) {
    kill();
    throw e;
  }
}
