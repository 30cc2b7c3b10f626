// A real headless browser for the sign-in tests: Debian's chromium driven by
// playwright-core (no browser download: the system binary). Screenshots go
// to tests/screenshots/ (gitignored but for the few the README shows).
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { SOURCE_DIR, BIN } from './bastion.mjs';
import { spawnSync } from 'node:child_process';

export const CHROMIUM = process.env.BASTION_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(SOURCE_DIR, 'tests', 'screenshots');

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in a container: chromium's own sandbox needs user namespaces it may not get.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    headless: true,
  });
}

export async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// A client's redirect URI: a loopback server that records every callback.
export async function callbackServer() {
  const hits = [];
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname === '/callback') hits.push(Object.fromEntries(u.searchParams));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Callback</title><h1>Back at the application</h1>');
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  return {
    hits,
    redirectUri: `http://127.0.0.1:${port}/callback`,
    close: () => new Promise((r) => srv.close(r)),
  };
}

// `bastion user add` against a data directory.
export function addUser(dataDir, name, password) {
  const r = spawnSync(BIN, ['user', 'add', name, '--data-dir', dataDir], { input: `${password}\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`user add ${name}: ${r.stderr}`);
}
