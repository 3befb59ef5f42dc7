/** Chart.js set up once for the panel, with colours from the VS Code theme's --vscode-* variables. */
import { Chart, registerables, type Plugin } from 'chart.js';

Chart.register(...registerables);

export { Chart };

const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

export function themeColors() {
  return {
    fg: css('--vscode-foreground', '#cccccc'),
    grid: css('--vscode-editorWidget-border', '#80808040'),
    pos: css('--vscode-charts-red', '#f14c4c'),
    neg: css('--vscode-charts-blue', '#3794ff'),
    accent: css('--vscode-charts-purple', '#b180d7'),
    other: css('--vscode-charts-green', '#89d185'),
    orange: css('--vscode-charts-orange', '#d18616'),
    yellow: css('--vscode-charts-yellow', '#cca700'),
    muted: css('--vscode-descriptionForeground', '#9d9d9d'),
  };
}

export type ThemeColors = ReturnType<typeof themeColors>;

/** Current theme colours, also made Chart.js's defaults for text and grid lines. */
export function chartTheme(): ThemeColors {
  const c = themeColors();
  Chart.defaults.color = c.fg;
  Chart.defaults.borderColor = c.grid;
  return c;
}

/** Calls `redraw` when VS Code switches theme (it changes the body's class and the root's CSS variables). */
export function onThemeChange(redraw: () => void): void {
  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      redraw();
    });
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'style'] });
}

/** `color` at the given opacity (0–1), for bands and fills; theme colours are #rgb, #rrggbb(aa) or rgb(a). */
export function translucent(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(color.trim())?.[1];
  if (hex) {
    const full = hex.length <= 4 ? [...hex.slice(0, 3)].map((h) => h + h).join('') : hex.slice(0, 6);
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(color.trim());
  return rgb ? `rgba(${rgb[1]}, ${rgb[2]}, ${rgb[3]}, ${alpha})` : color;
}

/** A dashed vertical line across the plot at `x` (a category index or a value on a linear axis), labelled at its top. */
export function verticalMarker(x: number, color: string, label: string, id = 'personaLensVerticalMarker'): Plugin {
  return {
    id,
    afterDatasetsDraw(chart) {
      const px = chart.scales.x.getPixelForValue(x);
      const { top, bottom, right } = chart.chartArea;
      const ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      ctx.font = `${Chart.defaults.font.size ?? 12}px ${Chart.defaults.font.family ?? 'sans-serif'}`;
      // Right of the line, or left of it when the line is near the right edge.
      const width = ctx.measureText(label).width;
      const leftSide = px + 4 + width > right;
      ctx.textAlign = leftSide ? 'right' : 'left';
      ctx.textBaseline = 'top';
      ctx.fillText(label, leftSide ? px - 4 : px + 4, top + 2);
      ctx.restore();
    },
  };
}

/**
 * Keyboard access to a chart's points: with the canvas focused, ←/→/Home/End move a cursor over the points of
 * `datasets[0]` and show their tooltip (with the same point of the other `datasets`); Enter or Space calls `onEnter`.
 */
export class ChartCursor {
  index = 0;

  constructor(canvas: HTMLCanvasElement, private readonly target: () => { chart: Chart; count: number; datasets: number[] } | undefined, private readonly onEnter?: (index: number) => void) {
    canvas.addEventListener('keydown', (e) => this.onKey(e));
  }

  private onKey(e: KeyboardEvent): void {
    const t = this.target();
    if (!t || t.count === 0) return;
    const last = t.count - 1;
    this.index = Math.min(last, Math.max(0, this.index));
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft' || e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      this.index = e.key === 'Home' ? 0 : e.key === 'End' ? last : Math.min(last, Math.max(0, this.index + (e.key === 'ArrowRight' ? 1 : -1)));
      const active = t.datasets.map((datasetIndex) => ({ datasetIndex, index: this.index }));
      t.chart.setActiveElements(active);
      t.chart.tooltip?.setActiveElements(active, { x: 0, y: 0 });
      t.chart.update('none');
    } else if (this.onEnter && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      this.onEnter(this.index);
    }
  }
}

/**
 * The chart's legend as HTML beside the canvas: screen readers can read it, and each item is a button that shows or
 * hides its series (the canvas legend is neither). A dataset labelled '' is part of the series before it (e.g. the
 * lower edge of a band): it has no item of its own and is shown or hidden with that series.
 */
export function htmlLegend(chart: Chart, container: HTMLElement): void {
  container.setAttribute('role', 'list');
  const datasets = chart.data.datasets;
  const series: number[][] = [];
  datasets.forEach((ds, i) => {
    if (ds.label === '' && series.length) series[series.length - 1].push(i);
    else series.push([i]);
  });
  container.replaceChildren(
    ...series.map((members) => {
      const [i] = members;
      const ds = datasets[i];
      const style = ds as { borderColor?: unknown; backgroundColor?: unknown; borderDash?: number[] };
      const color = String(Array.isArray(style.backgroundColor) ? style.backgroundColor[0] : style.borderColor ?? style.backgroundColor ?? '');
      const swatch = document.createElement('span');
      swatch.className = style.borderDash?.length ? 'swatch dashed' : 'swatch';
      // CSSOM, not a style attribute: allowed by the CSP.
      swatch.style.setProperty('--swatch', color);
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'legend-item';
      button.setAttribute('role', 'listitem');
      button.setAttribute('aria-pressed', String(chart.isDatasetVisible(i)));
      button.title = 'Show or hide this series';
      button.append(swatch, ds.label ?? '');
      button.addEventListener('click', () => {
        const visible = !chart.isDatasetVisible(i);
        for (const m of members) chart.setDatasetVisibility(m, visible);
        chart.update();
        button.setAttribute('aria-pressed', String(visible));
      });
      return button;
    }),
  );
}
