/**
 * The panel's views as ARIA tabs: one tab stop (the selected tab), ←/→/Home/End move between tabs and select them
 * (automatic activation), and each tab controls one tabpanel.
 */
import type { PanelTab } from '../../src/protocol/panelProtocol';

export class Tabs {
  private current: PanelTab;

  constructor(private readonly tabs: readonly PanelTab[], initial: PanelTab, private readonly onSelect: (tab: PanelTab, previous: PanelTab | undefined) => void) {
    this.current = initial;
    for (const tab of tabs) {
      const button = this.button(tab);
      button.addEventListener('click', () => this.select(tab));
      button.addEventListener('keydown', (e) => this.onKey(e, tab));
    }
    this.apply();
    onSelect(initial, undefined);
  }

  get selected(): PanelTab {
    return this.current;
  }

  select(tab: PanelTab, focus = false): void {
    const previous = this.current;
    this.current = tab;
    this.apply();
    if (focus) this.button(tab).focus();
    if (previous !== tab) this.onSelect(tab, previous);
  }

  private button(tab: PanelTab): HTMLElement {
    return document.getElementById(`tab-${tab}`)!;
  }

  private apply(): void {
    for (const tab of this.tabs) {
      const selected = tab === this.current;
      const button = this.button(tab);
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      document.getElementById(`panel-${tab}`)!.hidden = !selected;
    }
  }

  private onKey(e: KeyboardEvent, tab: PanelTab): void {
    const i = this.tabs.indexOf(tab);
    const n = this.tabs.length;
    const next = e.key === 'ArrowRight' ? (i + 1) % n : e.key === 'ArrowLeft' ? (i - 1 + n) % n : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : -1;
    if (next < 0) return;
    e.preventDefault();
    this.select(this.tabs[next], true);
  }
}
