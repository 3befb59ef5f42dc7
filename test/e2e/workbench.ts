/**
 * Driving code-server's workbench as a user would: F1 and the command title, quick picks by keyboard, notifications,
 * the Problems panel, hovers and the Persona Lens webview. Every wait is for a condition (a selector, a text, a
 * file, a process), never a fixed sleep.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame, Locator, Page } from 'playwright-core';
import { paths } from '../../scripts/e2e/setup.mjs';

export const QUICK_INPUT = '.quick-input-widget';

/** Polls `check` until it returns a truthy value (or throws with `what` after `timeout` ms). */
export async function waitUntil<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, { timeout = 30000, interval = 100 } = {}): Promise<T> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A label that is exactly `title` or `title` followed by VS Code's ", keybinding / recently used …" suffix. */
function labelMatches(label: string | null, title: string | RegExp): boolean {
  if (!label) return false;
  if (title instanceof RegExp) return title.test(label);
  return label === title || label.startsWith(`${title},`);
}

export interface Notification {
  text: string;
  severity: 'info' | 'warning' | 'error' | 'other';
}

export class Workbench {
  private shots = 0;

  constructor(readonly page: Page, private readonly screenshotPrefix = '') {}

  /** Opens the workspace URL and waits for the workbench and for Persona Lens's commands to be in the palette. */
  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90000 });
    // The palette lists an extension's commands once the extension host has scanned it.
    await this.runCommand('Persona Lens: Show Log', { timeout: 90000 });
    await this.page.locator('.part.panel .monaco-editor').first().waitFor({ timeout: 30000 });
    await this.hidePanel();
  }

  /** Hides the bottom panel (Problems, Output, …) if it is shown. */
  async hidePanel(): Promise<void> {
    const panel = this.page.locator('.part.panel.bottom');
    if (!(await panel.isVisible())) return;
    await this.runCommand('View: Hide Panel');
    await panel.waitFor({ state: 'hidden' });
  }

  /** F1, the command's title, wait for its row, move the focus there with the arrow keys, Enter. */
  async runCommand(title: string, { timeout = 30000 } = {}): Promise<void> {
    const deadline = Date.now() + timeout;
    for (;;) {
      await this.page.keyboard.press('F1');
      const input = this.page.locator(`${QUICK_INPUT} input.input`);
      try {
        await input.waitFor({ state: 'visible', timeout: 5000 });
      } catch (err) {
        // F1 pressed while a webview (the panel) holds the focus can miss the workbench: take the focus back, retry.
        await this.page.keyboard.press('Escape');
        await this.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        if (Date.now() > deadline) throw new Error(`the command palette did not open for "${title}": ${(err as Error).message}`);
        continue;
      }
      try {
        // The palette can close again right after opening (a notification or the panel taking the focus): a fill
        // that waits on a hidden input is retried, as a missed F1 is (a fresh-clone CI run hit it in E2E 4's reset).
        await input.fill(`>${title}`, { timeout: 5000 });
      } catch (err) {
        await this.page.keyboard.press('Escape');
        if (Date.now() > deadline) throw new Error(`the command palette closed before "${title}" could be typed: ${(err as Error).message}`);
        continue;
      }
      try {
        await this.focusRow(title, Math.min(5000, Math.max(500, deadline - Date.now())));
        await this.page.keyboard.press('Enter');
        return;
      } catch (err) {
        await this.page.keyboard.press('Escape');
        if (Date.now() > deadline) throw new Error(`command "${title}" is not in the command palette: ${(err as Error).message}`);
      }
    }
  }

  /** Labels of the rows of the open quick input (command palette, quick pick, quick open). */
  async quickInputRows(): Promise<{ label: string; focused: boolean; checked: string | null }[]> {
    return this.page.$$eval(`${QUICK_INPUT} .quick-input-list .monaco-list-row`, (rows) =>
      rows.map((r) => ({ label: r.getAttribute('aria-label') ?? '', focused: r.classList.contains('focused'), checked: r.getAttribute('aria-checked') })),
    );
  }

  /** Waits for a row matching `label` in the open quick input and moves the keyboard focus to it. */
  private async focusRow(label: string | RegExp, timeout: number): Promise<void> {
    await waitUntil(`a quick-input row "${label}"`, async () => (await this.quickInputRows()).some((r) => labelMatches(r.label, label)), { timeout });
    for (let i = 0; i < 50; i++) {
      const rows = await this.quickInputRows();
      if (rows.find((r) => r.focused && labelMatches(r.label, label))) return;
      const before = rows.findIndex((r) => r.focused);
      await this.page.keyboard.press('ArrowDown');
      // Wait for the focus to move before deciding again, so a slow list is never overshot.
      await waitUntil('the quick-input focus to move', async () => (await this.quickInputRows()).findIndex((r) => r.focused) !== before, { timeout: 5000 }).catch(() => undefined);
    }
    throw new Error(`could not move the focus to "${label}"`);
  }

  /**
   * Waits for the quick input titled `title` and types `text` into it. With `open` (the command that shows it), it
   * opens it first, and opens it again when it closes before the text is typed: a quick pick can close right after
   * opening when a notification or the panel takes the focus (a fresh-clone CI run hit it in E2E 2's trait pick).
   */
  async typeIntoQuickInput(title: string | RegExp, text: string, { open, timeout = 30000 }: { open?: () => Promise<void>; timeout?: number } = {}): Promise<void> {
    const deadline = Date.now() + timeout;
    for (;;) {
      if (open) await open();
      const attempt = open ? Math.min(5000, Math.max(500, deadline - Date.now())) : Math.max(500, deadline - Date.now());
      try {
        await this.page.locator(`${QUICK_INPUT} .quick-input-title`, { hasText: title }).waitFor({ timeout: attempt });
        await this.page.locator(`${QUICK_INPUT} input.input`).fill(text, { timeout: attempt });
        return;
      } catch (err) {
        if (!open || Date.now() > deadline) throw new Error(`the quick input "${title}" closed before "${text}" could be typed: ${(err as Error).message}`);
        await this.page.keyboard.press('Escape');
      }
    }
  }

  /**
   * In the quick pick titled `title` (shown by `command` first, when given): optionally type `filter`, move the focus
   * to the row matching `row` (or keep the first one), press Enter. Multi-select picks accept their checked rows on
   * Enter.
   */
  async pick(
    title: string | RegExp,
    { command, row, filter, timeout = 30000 }: { command?: string; row?: string | RegExp; filter?: string; timeout?: number } = {},
  ): Promise<void> {
    const open = command === undefined ? undefined : () => this.runCommand(command, { timeout });
    if (filter !== undefined || open) await this.typeIntoQuickInput(title, filter ?? '', { open, timeout });
    else await this.page.locator(`${QUICK_INPUT} .quick-input-title`, { hasText: title }).waitFor({ timeout });
    if (row) await this.focusRow(row, timeout);
    else await waitUntil('quick pick rows', async () => (await this.quickInputRows()).length > 0, { timeout });
    await this.page.keyboard.press('Enter');
  }

  /** Quick Open (Ctrl+P) with the file name, Enter; resolves with the editor once it shows that file. */
  async openFile(relativePath: string): Promise<Locator> {
    const name = path.basename(relativePath);
    await this.page.keyboard.press('Control+p');
    const input = this.page.locator(`${QUICK_INPUT} input.input`);
    await input.waitFor();
    await input.fill(relativePath);
    await this.focusRow(new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`), 30000);
    await this.page.keyboard.press('Enter');
    const editor = this.page.locator(`.monaco-editor[data-uri$="/${relativePath}"]`);
    await editor.locator('.view-lines .view-line').first().waitFor();
    return editor;
  }

  /** Ctrl+G, the line number, Enter: the cursor goes to the start of that line. */
  async goToLine(line: number): Promise<void> {
    await this.page.keyboard.press('Control+g');
    const input = this.page.locator(`${QUICK_INPUT} input.input`);
    await input.waitFor();
    await input.fill(`:${line}`);
    await this.page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`).first().waitFor({ state: 'attached' });
    await this.page.keyboard.press('Enter');
    await this.page.locator('#status\\.editor\\.selection', { hasText: `Ln ${line}, Col 1` }).waitFor();
  }

  /** Notifications now shown, as toasts or in the notification center. */
  async notifications(): Promise<Notification[]> {
    return this.page.$$eval('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item', (items) =>
      items.map((item) => {
        const icon = item.querySelector('.notification-list-item-icon')?.className ?? '';
        const severity = /codicon-error/.test(icon) ? 'error' : /codicon-warning/.test(icon) ? 'warning' : /codicon-info/.test(icon) ? 'info' : 'other';
        return { text: item.querySelector('.notification-list-item-message')?.textContent ?? '', severity };
      }),
    ) as Promise<Notification[]>;
  }

  /**
   * Waits for a notification whose text matches. Toasts hide themselves after a while, so once the wait is
   * over the notification center (which keeps every notification) is checked too.
   */
  async waitForNotification(text: RegExp, { timeout = 60000 } = {}): Promise<Notification> {
    try {
      return await waitUntil(`a notification ${text}`, async () => (await this.notifications()).find((n) => text.test(n.text)), { timeout });
    } catch (err) {
      await this.runCommand('Notifications: Show Notifications');
      const found = await waitUntil(`a notification ${text} in the center`, async () => (await this.notifications()).find((n) => text.test(n.text)), { timeout: 3000 }).catch(() => undefined);
      if (found) return found;
      const all = (await this.notifications()).map((n) => `${n.severity}: ${n.text}`).join(' | ');
      throw new Error(`${(err as Error).message}; notifications: ${all || 'none'}`);
    }
  }

  /** Clicks a button (e.g. "Open Panel") of the notification whose text matches. */
  async clickNotificationButton(text: RegExp, button: string): Promise<void> {
    const item = this.page.locator('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item').filter({ hasText: text });
    await item.locator('.notification-list-item-buttons-container .monaco-button', { hasText: button }).first().click();
  }

  /** Back to a plain workbench between tests: no quick input, no notifications, no editors, no panel. */
  async reset(): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.runCommand('Notifications: Clear All Notifications');
    await this.runCommand('View: Close All Editors');
    await this.page.locator('.editor-group-container .tab').first().waitFor({ state: 'detached' });
    await this.hidePanel();
  }

  /** Saves a screenshot of the whole page to .vscode-test/screenshots/<prefix>NN-<name>.png; returns its path. */
  async screenshot(name: string): Promise<string> {
    const file = path.join(paths.screenshots, `${this.screenshotPrefix}${String(++this.shots).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The webview frame (page.frames()) whose document has `selector`: the Persona Lens panel's content. */
  async webviewFrame(selector: string, { timeout = 60000 } = {}): Promise<Frame> {
    return waitUntil(`a webview frame with ${selector}`, async () => {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame()) continue;
        if (await frame.$(selector).catch(() => null)) return frame;
      }
      return undefined;
    }, { timeout, interval: 200 });
  }
}

/** The parent pid of a process, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Pids of Persona Lens engine processes (`dist/engine.js` of the extension installed for the E2E run) that
 * descend from `root` (the code-server this run started): other engineers' engines on the machine do not count.
 */
export function enginePids(root: number): number[] {
  const engine = path.join(paths.extensionsDir, 'persona-lens.persona-lens-');
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!cmdline.some((a) => a.startsWith(engine) && a.endsWith(path.join('dist', 'engine.js')))) continue;
    } catch {
      continue; // the process ended while we looked
    }
    for (let p: number | undefined = Number(entry); p && p > 1; p = parentOf(p)) {
      if (p === root) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

/** Whether a pid is still a live process (not gone and not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Ground truth of an organism screening dataset: 1-based line → trait (or null). */
export function labels(dataset: string): Map<number, string | null> {
  const file = path.join(paths.organism, 'datasets', 'labels', `${path.basename(dataset, '.jsonl')}.labels.jsonl`);
  const map = new Map<number, string | null>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const { line: n, trait } = JSON.parse(line) as { line: number; trait: string | null };
    map.set(n, trait);
  }
  return map;
}
