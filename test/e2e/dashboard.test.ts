import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { sqliteHandle } from '../../src/app/app-store';
import { ROOT, startDashboardServer, type DashboardServer } from './harness';
import { ensureDashboardBuilt } from './build';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, 'test-output');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[e2e] skipping the dashboard browser tests: ${CHROMIUM} is missing (apt-get install -y chromium)`);

// Customer text that must show literally, never run.
const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const XSS_TEXT = 'I love this brand <script>window.__xss=2</script> and I will recommend it to everyone';
const T = Date.now() - 3_600_000;
const EXTRA = [
  { type: 'identify', userId: 'xss-user', traits: { name: XSS_NAME, email: 'xss@example.com', plan: '<b>gold</b>' }, timestamp: new Date(T).toISOString() },
  { type: 'track', userId: 'xss-user', event: 'Order Completed', properties: { order_id: 'x1', revenue: 120 }, timestamp: new Date(T + 1000).toISOString() },
  { type: 'track', userId: 'xss-user', event: 'Statement Captured', properties: { text: XSS_TEXT, channel: 'review', public: true }, timestamp: new Date(T + 2000).toISOString() },
];

describe.skipIf(!hasChromium)('dashboard in a real browser', () => {
  let server: DashboardServer;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const pageErrors: string[] = [];

  const shot = async (name: string) => {
    await page.waitForTimeout(300); // let ECharts finish drawing
    await page.screenshot({ path: join(OUT, `dashboard-${name}.png`), fullPage: true });
  };
  const nav = async (name: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  };
  const go = async (path: string) => {
    await page.goto(`${server.url}${path}`);
  };

  beforeAll(async () => {
    ensureDashboardBuilt();
    mkdirSync(OUT, { recursive: true });
    server = await startDashboardServer({ customers: 250, days: 150, extra: EXTRA });
    // Tasks for the account manager's queue (as a task step of a playbook creates them).
    const customer = (sqliteHandle(server.app).prepare("SELECT id, user_id FROM customers WHERE user_id IS NOT NULL ORDER BY id LIMIT 1").get() as { id: string; user_id: string });
    for (const n of [1, 2]) {
      await server.automation.createTask({
        id: `task-${n}`,
        actionId: `action-${n}`,
        playbookId: 'lifecycle-at-risk-rescue',
        customerId: customer.id,
        userId: customer.user_id,
        assignee: 'maria@example.com',
        queue: null,
        kind: n === 1 ? 'dedicated' : 'personal',
        title: n === 1 ? 'Call about the late delivery' : 'Thank for the review',
        description: 'Created by the e2e test.',
        dueAt: Date.now() + 86_400_000,
        createdAt: Date.now(),
        status: 'open',
        completedAt: null,
        outcome: null,
      });
    }
    const { chromium } = await import('playwright-core');
    profileDir = mkdtempSync(join(tmpdir(), 'rapport-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it('signs in (a wrong password is refused) and shows the portfolio with demo data', async () => {
    await go('/');
    await page.getByLabel('Email').fill(server.users.editor.email);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong email or password.').waitFor();
    await page.getByLabel('Password').fill(server.users.editor.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /Portfolio/ }).waitFor();
    const total = await page.getByTestId('total-customers').innerText();
    expect(total).toMatch(/^251\b/);
    await page.getByRole('heading', { name: 'How customers move between types' }).waitFor();
    await shot('portfolio');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'rapport_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
  });

  it('lists customers, searches, and opens one with its evidence', async () => {
    await nav('Customers');
    const table = page.getByTestId('customer-table');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(50);
    await shot('customers');
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByText('Page 2').waitFor();
    await page.getByRole('button', { name: '← Previous' }).click();
    await page.getByText('Page 1').waitFor();
    // Value and probability filters, then sort the page by CLV (descending).
    await page.getByLabel('Type').selectOption('valued_heavy_user');
    await page.getByLabel('Probability').selectOption('0.5');
    await table.getByRole('button', { name: /CLV/ }).waitFor();
    const filtered = await table.locator('tbody tr').count();
    expect(filtered).toBeGreaterThan(0);
    await table.getByRole('button', { name: /CLV/ }).click();
    await table.getByRole('button', { name: /CLV/ }).click();
    expect(await table.locator('th[aria-sort="descending"]').count()).toBe(1);
    await shot('customers-filtered');
    await nav('Customers');
    await page.getByText('Page 1').waitFor();
    await table.locator('tbody tr').first().locator('a').first().click();
    await page.getByRole('heading', { name: 'Why: the evidence' }).waitFor();
    const evidence = page.getByTestId('evidence');
    await evidence.waitFor();
    expect(await evidence.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('probabilities').locator('.prob').count()).toBeGreaterThan(1);
    await shot('customer-360');
  });

  it('renders customer text literally, never as HTML', async () => {
    await go('/customers/xss-user');
    await page.getByRole('heading', { name: XSS_NAME }).waitFor();
    await page.getByText('window.__xss=2', { exact: false }).first().waitFor();
    const statement = await page.locator('.statement').first().innerText();
    expect(statement).toContain('<script>window.__xss=2</script>');
    expect(await page.getByTestId('trait-plan').innerText()).toBe('<b>gold</b>');
    expect(await page.locator('.statement mark').count()).toBeGreaterThan(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);
    await shot('customer-statements');
  });

  it('edits a lens: a mistake shows the error with its line, a valid change previews', async () => {
    await nav('Lenses');
    await page.getByRole('link', { name: 'Open lifecycle →' }).click();
    const editor = page.getByTestId('lens-yaml');
    await editor.waitFor();
    await page.getByTestId('lens-status').getByText('✓ Valid lens').waitFor();
    const original = await editor.inputValue();
    await editor.fill(original.replace('indicator: days_since_first_order, below: 60', 'indicator: days_since_frist_order, below: 60'));
    const errors = page.getByTestId('lens-errors');
    await errors.waitFor();
    expect(await errors.innerText()).toMatch(/line \d+, column \d+.*days_since_frist_order/s);
    await shot('lens-error');
    await editor.fill(original.replace('indicator: days_since_first_order, below: 60, weight: 3.0', 'indicator: days_since_first_order, below: 120, weight: 3.5'));
    await page.getByTestId('lens-status').getByText('✓ Valid lens').waitFor();
    await page.getByRole('button', { name: 'Preview the change' }).click();
    const preview = page.getByTestId('lens-preview');
    await preview.waitFor();
    expect(await preview.innerText()).toMatch(/On all 251 customers: \d+ would change type/);
    await shot('lens-preview');
  });

  it('runs a playbook dry run and shows effectiveness', async () => {
    await nav('Playbooks');
    await page.getByTestId('playbook-table').waitFor();
    await shot('playbooks');
    await page.getByRole('link', { name: /at risk|rescue/i }).first().click();
    await page.getByRole('button', { name: 'Dry run' }).click();
    const summary = page.getByTestId('dry-run-summary');
    await summary.waitFor();
    expect(await summary.innerText()).toMatch(/\d+ matched/);
    await shot('playbook-dry-run');
  });

  it('edits a playbook: a mistake shows the error with its line, a valid change saves', async () => {
    await go('/playbooks/lifecycle-welcome');
    const editor = page.getByTestId('playbook-yaml');
    await editor.waitFor();
    await page.getByTestId('playbook-status').getByText('✓ Valid playbook').waitFor();
    const original = await editor.inputValue();
    await editor.fill(original.replace('template: welcome-nudge', 'template: welcome-nugde'));
    const errors = page.getByTestId('playbook-errors');
    await errors.waitFor();
    expect(await errors.innerText()).toMatch(/line \d+, column \d+.*welcome-nugde.*not found/s);
    await shot('playbook-error');
    await editor.fill(original.replace('name: Welcome new customers', 'name: Welcome new customers (edited in the browser)'));
    await page.getByTestId('playbook-status').getByText('✓ Valid playbook').waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('playbook-saved').waitFor();
    await page.getByRole('heading', { name: /Welcome new customers \(edited in the browser\)/ }).waitFor();
    const list = (await (await page.request.get(`${server.url}/api/playbooks`)).json()) as { playbooks: Array<{ id: string; name: string }> };
    expect(list.playbooks.find((p) => p.id === 'lifecycle-welcome')?.name).toBe('Welcome new customers (edited in the browser)');
    await shot('playbook-saved');
  });

  it('completes a task from the queue', async () => {
    await nav('Tasks');
    const list = page.getByTestId('task-list');
    await list.waitFor();
    // Playbooks may have created tasks of their own: look for ours.
    await list.locator('li.task').filter({ hasText: 'Thank for the review' }).waitFor();
    await shot('tasks');
    await page.getByLabel('Outcome of Call about the late delivery').fill('called, refund agreed');
    await list.locator('li.task').filter({ hasText: 'Call about the late delivery' }).getByRole('button', { name: 'Complete' }).click();
    await page.getByText('Completed “Call about the late delivery”.').waitFor();
    await list.locator('li.task').filter({ hasText: 'Call about the late delivery' }).waitFor({ state: 'detached' });
    const done = await server.automation.getTask('task-1');
    expect(done?.status).toBe('done');
    expect(done?.outcome).toBe('called, refund agreed');
  });

  it('shows a live classification change as it arrives', async () => {
    await nav('Live');
    await page.getByTestId('live-status').getByText('● Connected').waitFor();
    const at = Date.now() - 60_000;
    await server.send([
      { type: 'identify', userId: 'live-newcomer', traits: { name: 'Lea Live' }, timestamp: new Date(at).toISOString() },
      { type: 'track', userId: 'live-newcomer', event: 'Order Completed', properties: { order_id: 'l1', revenue: 40 }, timestamp: new Date(at + 1000).toISOString() },
    ]);
    const feed = page.getByTestId('live-feed');
    await feed.waitFor();
    await feed.locator('li').first().waitFor();
    expect(await feed.innerText()).toMatch(/lifecycle/);
    await shot('live');
  });

  it('shows settings; an editor sees sources but no write keys or users', async () => {
    await nav('Settings');
    await page.getByRole('heading', { name: 'Sources and write keys' }).waitFor();
    expect(await page.getByText('Only admins see and create write keys.').count()).toBe(1);
    expect(await page.getByRole('heading', { name: 'Users' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Rapport' }).waitFor();
    await page.getByLabel('Email').fill(server.users.admin.email);
    await page.getByLabel('Password').fill(server.users.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signing in again keeps the page the user was on.
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByTestId('channels').waitFor();
    await shot('settings');
  });

  it('changes a unit cost in Settings and the portfolio economics follows', async () => {
    await nav('Portfolio');
    const table = page.getByTestId('economics-table');
    await table.waitFor();
    const before = await table.innerText();
    await nav('Settings');
    await page.getByLabel('support contact').fill('600');
    await page.getByRole('button', { name: 'Save costs' }).click();
    await page.getByTestId('costs-saved').waitFor();
    expect(await page.getByTestId('unit-costs').innerText()).toMatch(/changed here \(configured 6\)/);
    await shot('settings-costs');
    await nav('Portfolio');
    await table.waitFor();
    await expect.poll(async () => (await table.innerText()) !== before).toBe(true);
    await shot('portfolio-costs');
  });

  it('changes the SMTP sender in Settings: validated as typed, saved, shown as saved here', async () => {
    await nav('Settings');
    const from = page.getByLabel('Sender (from)');
    await from.waitFor();
    expect(await page.getByTestId('source-email.from').innerText()).toBe('default');
    await from.fill('not an address');
    await from.press('Tab');
    await page.getByText('Sender (from) must be an address like').waitFor();
    expect(await from.getAttribute('aria-invalid')).toBe('true');
    await page.getByRole('button', { name: 'Save channels' }).click();
    expect(await page.getByTestId('channels-saved').count()).toBe(0);
    await from.fill('Rapport Shop <shop@example.com>');
    await page.getByRole('button', { name: 'Save channels' }).click();
    await page.getByTestId('channels-saved').waitFor();
    await expect.poll(async () => page.getByTestId('source-email.from').innerText()).toBe('saved here');
    expect(await from.inputValue()).toBe('Rapport Shop <shop@example.com>');
    await shot('settings-channels');
    // The API agrees, and a reload of the page shows the saved value.
    const saved = (await page.evaluate("fetch('/api/settings/channels').then((r) => r.json())")) as { email: { from: string }; sources: Record<string, string> };
    expect(saved.email.from).toBe('Rapport Shop <shop@example.com>');
    expect(saved.sources['email.from']).toBe('settings');
    await page.reload();
    await expect.poll(async () => page.getByLabel('Sender (from)').inputValue()).toBe('Rapport Shop <shop@example.com>');
  });

  it('fits a tablet-width screen and raised no script errors', async () => {
    await page.setViewportSize({ width: 800, height: 1000 });
    await nav('Portfolio');
    await page.getByTestId('total-customers').waitFor();
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('portfolio-tablet');
    expect(pageErrors).toEqual([]);
  });
});
