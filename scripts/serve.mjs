#!/usr/bin/env node
// serve.mjs: a zero-dependency static file server for developing Cu in a browser.
// Serves the repository root on 127.0.0.1 only, at PORT (default 8080; 0 picks a free
// port), and prints the URL. Usage: node scripts/serve.mjs   (or: PORT=0 npm run serve)
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.lua': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** `{ file, size }` for the file a URL path names; null when there is none, or the path
 * would leave the root or names a dot file. */
async function locate(urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return null;
  }
  // No NUL bytes, and no dot files or folders (.git and the like).
  if (path.includes('\0') || /(^|[\\/])\./.test(path)) return null;
  let file = resolve(ROOT, '.' + (path.startsWith('/') ? path : '/' + path));
  if (file !== ROOT && !file.startsWith(ROOT + sep)) return null;
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    const real = await realpath(file); // symbolic links must not lead outside either
    if (real !== ROOT && !real.startsWith((await realpath(ROOT)) + sep)) return null;
    const info = await stat(real);
    return info.isFile() ? { file: real, size: info.size } : null;
  } catch {
    return null;
  }
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

export function createStaticServer() {
  return createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    const found = await locate(req.url || '/');
    if (!found) return send(res, 404, 'not found');
    const { file, size } = found;
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] || 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be an integer from 0 to 65535, not ${process.env.PORT}`);
    process.exit(2);
  }
  const server = createStaticServer();
  server.on('error', (e) => {
    console.error(`cannot serve on 127.0.0.1:${port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    console.log(`Serving ${ROOT} at http://127.0.0.1:${server.address().port}/`);
  });
}
