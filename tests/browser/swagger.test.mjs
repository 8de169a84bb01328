// Swagger UI's Authorize button, clicked for real: for each demo (axum, actix-web, rocket),
// headless Debian Chromium driven by playwright-core opens /docs, runs GET / without a token
// (401), clicks Authorize, enters a token minted by the demo's development issuer, and runs
// GET / again (200). Run by .ci/run after `cargo build`; `npm test` here runs it by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

const root = new URL('../../', import.meta.url).pathname;
const binDir = process.env.DEMO_BIN_DIR ?? `${root}target/debug`;
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A free port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a demo with its development issuer; resolves with the process and the printed token. */
function startDemo(name, port) {
  const env = { ...process.env, BIND: `127.0.0.1:${port}` };
  delete env.COGNITO_SETTINGS; // the development issuer
  const child = spawn(`${binDir}/cognito-${name}-demo`, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} demo did not start: ${out}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${name} demo exited (${code}): ${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const token = out.match(/^TOKEN='([^']+)'$/m);
      if (token && out.includes('listening on')) {
        clearTimeout(timer);
        resolve({ child, token: token[1] });
      }
    });
    child.stderr.resume();
  });
}

/** Runs GET / from Swagger UI; the status code it shows. */
async function executeGetRoot(operation) {
  await operation.locator('button.execute').click();
  const status = operation.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 15_000 });
  return (await status.innerText()).trim().slice(0, 3);
}

for (const name of ['axum', 'actix', 'rocket']) {
  test(`${name} demo: Swagger UI's Authorize button turns GET / from 401 into 200`, async () => {
    const port = await freePort();
    const { child, token } = await startDemo(name, port);
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`http://127.0.0.1:${port}/docs`);
      const operation = page.locator('.opblock-get').filter({ has: page.locator('.opblock-summary-path[data-path="/"]') });
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();

      assert.equal(await executeGetRoot(operation), '401', 'without a token');

      await page.locator('.auth-wrapper button.authorize').click();
      await page.locator('.modal-ux input').first().fill(token);
      await page.locator('.modal-ux button.authorize').click();
      await page.locator('.modal-ux button.btn-done').click();

      assert.equal(await executeGetRoot(operation), '200', 'with the token');
      const body = await operation.locator('.live-responses-table .response-col_description pre').first().innerText();
      assert.match(body, /"username": "alice"/);
    } finally {
      await browser.close();
      child.kill();
    }
  });
}
