// Browser test of the console: Debian's Chromium driven by playwright-core (no browser download)
// against a running service. Run by tests/console/test_console_browser.py, which starts the
// service with simulated drones and 500 ground units; standalone:
//   BASE_URL=http://127.0.0.1:8000 TOKEN=... node tests/console/console.spec.mjs
// Prints one JSON line of measurements last; exits non-zero on the first failed step.
import { chromium } from 'playwright-core';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const BASE = process.env.BASE_URL || 'http://127.0.0.1:8000';
const TOKEN = process.env.TOKEN;
const SHOTS = process.env.SCREENSHOT_DIR || 'screenshots/console';
const UNITS = Number(process.env.EXPECT_UNITS || 3);
const FRAME_SECONDS = Number(process.env.FRAME_SECONDS || 10);
assert.ok(TOKEN, 'set TOKEN to an operator or admin token');

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const profile = await mkdtemp(join(tmpdir(), 'pf-chromium-'));
await mkdir(SHOTS, { recursive: true });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: FLAGS,
  viewport: { width: 1440, height: 900 },
});
const result = { steps: [] };
const page = context.pages()[0] || (await context.newPage());

// No request may leave 127.0.0.1: record every one that tries, and refuse it.
const outside = [];
await context.route('**/*', (route) => {
  const url = new URL(route.request().url());
  if (['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || url.protocol === 'data:' || url.protocol === 'blob:') {
    return route.continue();
  }
  outside.push(url.href);
  return route.abort();
});
let requests = 0;
page.on('request', () => { requests += 1; });
const pageErrors = [];
page.on('pageerror', (err) => pageErrors.push(String(err)));
// Refused API calls log "Failed to load resource" by design (the test provokes one); anything else counts.
page.on('console', (msg) => { if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text()); });

const shot = async (name) => { await page.screenshot({ path: join(SHOTS, `${name}.png`) }); log(`screenshot ${name}`); };
const step = async (name, fn) => {
  const t0 = Date.now();
  log(`step: ${name}`);
  await fn();
  result.steps.push({ name, ms: Date.now() - t0 });
};
const unitPoint = (id) => page.evaluate((uid) => {
  const { store, ctx } = window.patrolfleet;
  const u = store.units.get(uid);
  const p = ctx.map.latLngToContainerPoint([u.lat, u.lon]);
  const box = ctx.map.getContainer().getBoundingClientRect();
  return { x: box.left + p.x, y: box.top + p.y, lon: u.lon, lat: u.lat };
}, id);
const mapPoint = (lon, lat) => page.evaluate(([x, y]) => {
  const { ctx } = window.patrolfleet;
  const p = ctx.map.latLngToContainerPoint([y, x]);
  const box = ctx.map.getContainer().getBoundingClientRect();
  return { x: box.left + p.x, y: box.top + p.y };
}, [lon, lat]);
const clickMap = async (lon, lat) => { const p = await mapPoint(lon, lat); await page.mouse.click(p.x, p.y); };
const toastSeen = (re) => page.locator('.toast', { hasText: re }).first().waitFor({ timeout: 15000 });
const selectUnit = async (id) => {
  // The overlay is a canvas: click where the unit is drawn, then check the panel that opened.
  const p = await unitPoint(id);
  await page.mouse.click(p.x, p.y);
  await page.locator(`.panel.unit[data-id="${id}"]`).waitFor({ timeout: 5000 });
};

try {
  await step('log in', async () => {
    await page.goto(`${BASE}/`);
    await page.locator('#login-token').fill(TOKEN);
    await page.locator('#login-form button').click();
    await page.locator('#conn.live').waitFor({ timeout: 15000 });
    await page.waitForFunction((n) => window.patrolfleet?.store.units.size >= n, UNITS, { timeout: 15000 });
    // The basemap is drawn (roads are the last layer) and the attribution shows.
    await page.waitForFunction(() => Object.keys(window.patrolfleet.ctx.map._layers).length > 1000, null, { timeout: 15000 });
    const attribution = await page.locator('.leaflet-control-attribution').innerText();
    assert.match(attribution, /© OpenStreetMap contributors/);
    await page.waitForTimeout(1200);
    await shot('01-overview');
  });

  const drone = 'drone-1';
  let target;
  await step('fly a drone and see it move', async () => {
    await selectUnit(drone);
    const before = await unitPoint(drone);
    target = { lon: before.lon + 0.004, lat: before.lat + 0.002 };
    await page.locator('[data-action=goto]').click();
    await page.locator('#mode-banner').waitFor();
    await clickMap(target.lon, target.lat);
    await toastSeen(/flying to the point/);
    await page.waitForFunction(([id, lon, lat]) => {
      const u = window.patrolfleet.store.units.get(id);
      return Math.hypot(u.lon - lon, u.lat - lat) > 0.0004; // ~30 m
    }, [drone, before.lon, before.lat], { timeout: 30000, polling: 500 });
    await shot('02-drone-moving');
  });

  let incidentId;
  await step('create an incident by clicking the map', async () => {
    await page.locator('[data-mode=incident]').click();
    await page.locator('#mode-banner').waitFor();
    const c = await page.evaluate(() => window.patrolfleet.ctx.meta.centre);
    await clickMap(c[0] + 0.002, c[1] - 0.001);
    await page.locator('input[name=category]').fill('assault');
    await page.locator('select[name=priority]').selectOption('1');
    await page.locator('textarea[name=description]').fill('Fight outside the market hall, two people');
    await page.locator('[data-action=create-incident]').click();
    await toastSeen(/Incident created/);
    const panel = page.locator('.panel.incident');
    await panel.waitFor();
    incidentId = await panel.getAttribute('data-id');
    await page.locator('.panel.incident .recs table').waitFor({ timeout: 15000 });
    await shot('03-incident-recommendations');
  });

  let assigned;
  await step('assign a drone from the recommendations', async () => {
    const row = page.locator('.panel.incident .recs tr', { hasText: 'Drone' }).filter({ has: page.locator('[data-action=assign]') }).first();
    assigned = (await row.locator('td b').innerText()).trim();
    await row.locator('[data-action=assign]').click();
    await toastSeen(/assigned/);
    await page.locator('.panel.incident ul.rows li', { hasText: assigned }).first().waitFor({ timeout: 15000 });
    await shot('04-assigned');
  });

  await step('send a warning and see it acked', async () => {
    const id = await page.evaluate((name) => [...window.patrolfleet.store.units.values()].find((u) => u.name === name || u.id === name).id, assigned);
    await selectUnit(id);
    await page.locator('.warning-form select[name=preset] option').nth(1).waitFor({ state: 'attached' });
    await page.locator('[data-action=warn]').click();
    await page.locator('.warnings li[data-status=acked]').first().waitFor({ timeout: 20000 });
    await shot('05-warning-acked');
  });

  await step(`frame time with ${UNITS} units for ${FRAME_SECONDS} s`, async () => {
    await page.locator('.details .close').click();
    await page.evaluate(() => {
      // Long tasks (> 50 ms on the main thread) would stall input and animation alike.
      window.__longTasks = [];
      new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => e.duration)))
        .observe({ type: 'longtask' });
      window.patrolfleet.ctx.live.drawMs = [];
    });
    const frames = await page.evaluate((seconds) => new Promise((resolve) => {
      const deltas = [];
      let last = performance.now();
      const end = last + seconds * 1000;
      const tick = (now) => {
        deltas.push(now - last);
        last = now;
        if (now < end) requestAnimationFrame(tick); else resolve(deltas);
      };
      requestAnimationFrame(tick);
    }), FRAME_SECONDS);
    const sorted = [...frames].sort((a, b) => a - b);
    const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    result.frames = { count: frames.length, p50_ms: +q(0.5).toFixed(1), p95_ms: +q(0.95).toFixed(1), max_ms: +sorted.at(-1).toFixed(1) };
    result.units_in_page = await page.evaluate(() => window.patrolfleet.store.units.size);
    const draws = (await page.evaluate(() => window.patrolfleet.ctx.live.drawMs)).sort((a, b) => a - b);
    result.overlay_draw = { count: draws.length, p95_ms: +(draws[Math.floor(0.95 * draws.length)] ?? 0).toFixed(2) };
    result.long_tasks = await page.evaluate(() => window.__longTasks.length);
    log(`overlay draws ${JSON.stringify(result.overlay_draw)} long tasks ${result.long_tasks}`);
    log(`frames ${JSON.stringify(result.frames)} units ${result.units_in_page}`);
    assert.ok(result.units_in_page >= UNITS, `the page holds ${result.units_in_page} units, expected ${UNITS}`);
    assert.ok(result.frames.p95_ms < 50, `frame time p95 ${result.frames.p95_ms} ms >= 50 ms`);
  });

  await step('zoom in: labels stay legible', async () => {
    await page.evaluate((id) => {
      const { store, ctx } = window.patrolfleet;
      const [lon, lat] = store.incidents.get(id).geometry.coordinates;
      ctx.map.setView([lat, lon], 18);
    }, incidentId);
    await page.waitForTimeout(1200);
    await shot('09-zoomed-in');
    await page.evaluate(() => { window.patrolfleet.ctx.map.fitBounds(window.patrolfleet.ctx.bounds); });
  });

  await step('draw a patrol zone', async () => {
    const c = await page.evaluate(() => window.patrolfleet.ctx.meta.centre);
    await page.locator('[data-mode=fence]').click();
    for (const [dx, dy] of [[-0.004, -0.002], [0.0, -0.002], [0.0, 0.001], [-0.004, 0.001]]) {
      await clickMap(c[0] + dx, c[1] + dy);
    }
    await page.locator('#mode-banner button', { hasText: 'Finish' }).click();
    await page.locator('input[name=name]').fill('Market square');
    await page.locator('[data-action=save-fence]').click();
    await toastSeen(/Zone saved/);
  });

  await step('send a command to every unit in an area', async () => {
    const c = await page.evaluate(() => window.patrolfleet.ctx.meta.centre);
    await page.locator('[data-mode=group]').click();
    for (const [dx, dy] of [[-0.006, -0.004], [0.006, -0.004], [0.006, 0.004], [-0.006, 0.004]]) {
      await clickMap(c[0] + dx, c[1] + dy);
    }
    await page.locator('#mode-banner button', { hasText: 'Finish' }).click();
    await page.locator('textarea[name=message]').fill('Move to the market square entrance');
    await page.locator('[data-action=send-group]').click();
    await toastSeen(/Area command sent to/);
    await page.waitForTimeout(1500);
    await shot('06-zone-and-area-command');
  });

  await step('coverage overlay', async () => {
    await page.locator('[data-mode=coverage]').click();
    await page.locator('#coverage-chip').waitFor({ timeout: 15000 });
    await page.waitForTimeout(500);
    await shot('07-coverage');
    await page.locator('[data-mode=coverage]').click();
  });

  await step('return the drone home', async () => {
    await selectUnit(drone);
    await page.locator('[data-action=return]').click();
    await toastSeen(/returning home/);
  });

  await step('API errors are shown, not swallowed', async () => {
    // A zone with a self-crossing outline is refused by the API; its detail must appear.
    await page.locator('.details .close').click();
    const c = await page.evaluate(() => window.patrolfleet.ctx.meta.centre);
    await page.locator('[data-mode=fence]').click();
    for (const [dx, dy] of [[-0.002, -0.001], [0.002, 0.001], [0.002, -0.001], [-0.002, 0.001]]) {
      await clickMap(c[0] + dx, c[1] + dy);
    }
    await page.locator('#mode-banner button', { hasText: 'Finish' }).click();
    await page.locator('[data-action=save-fence]').click();
    await page.locator('.toast.error', { hasText: /not valid|Self-intersection/i }).first().waitFor({ timeout: 10000 });
    await shot('08-error-shown');
  });

  assert.deepEqual(outside, [], `requests left 127.0.0.1: ${outside.join(', ')}`);
  assert.deepEqual(pageErrors, [], `errors in the page: ${pageErrors.join(' | ')}`);
  result.requests = requests;
  result.requests_outside = outside.length;
  result.ok = true;
} catch (err) {
  await shot('failure').catch(() => {});
  result.ok = false;
  result.error = String(err?.stack || err);
  result.page_errors = pageErrors;
  process.exitCode = 1;
} finally {
  await context.close();
  await rm(profile, { recursive: true, force: true });
  result.seconds = +((Date.now() - started) / 1000).toFixed(1);
  console.log(JSON.stringify(result));
}
