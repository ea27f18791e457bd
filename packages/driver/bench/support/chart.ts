// The results as one SVG, written by hand (a few shapes, no chart library): ratios to direct
// matrix-js-sdk against N, and the latency distributions of both paths.

import type { Distribution, RatioSeries } from "./report.js";
import { quantile } from "./stats.js";

const WIDTH = 980;
const HEIGHT = 600;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const DRIVER = "#1f77b4";
const BASELINE = "#999999";

const esc = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "0");

function text(x: number, y: number, body: string, attrs = ""): string {
  return `<text x="${f(x)}" y="${f(y)}" ${attrs}>${esc(body)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, attrs: string): string {
  return `<line x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}" ${attrs}/>`;
}

interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Panel A: each series' median (solid) and p95 (dashed) ratio against N, log-scaled N. */
function ratioPanel(series: ReadonlyArray<RatioSeries>, box: Box): string[] {
  const out: string[] = [];
  const ns = series.flatMap((s) => s.points.map((p) => p.n));
  const ratios = series.flatMap((s) =>
    s.points.flatMap((p) => [p.comparison.medianRatio, p.comparison.p95Ratio]),
  );
  const maxN = Math.max(1000, ...ns);
  const yMin = Math.min(0.8, ...ratios.filter(Number.isFinite));
  const yMax = Math.max(1.5, ...ratios.filter(Number.isFinite)) * 1.05;
  const x = (n: number) => box.left + (Math.log10(n) / Math.log10(maxN)) * box.width;
  const y = (r: number) => box.top + box.height - ((r - yMin) / (yMax - yMin)) * box.height;
  out.push(
    text(
      box.left,
      box.top - 14,
      "Ratio to direct matrix-js-sdk against N (devices)",
      'font-weight="bold"',
    ),
  );
  out.push(
    line(
      box.left,
      box.top + box.height,
      box.left + box.width,
      box.top + box.height,
      'stroke="#333"',
    ),
  );
  out.push(line(box.left, box.top, box.left, box.top + box.height, 'stroke="#333"'));
  for (const n of [1, 2, 10, 20, 100, 300, 1000].filter((v) => v <= maxN)) {
    out.push(line(x(n), box.top + box.height, x(n), box.top + box.height + 4, 'stroke="#333"'));
    out.push(text(x(n), box.top + box.height + 16, String(n), 'text-anchor="middle"'));
  }
  const step = yMax - yMin > 2 ? 0.5 : 0.1;
  for (let r = Math.ceil(yMin / step) * step; r <= yMax; r += step) {
    out.push(line(box.left - 4, y(r), box.left + box.width, y(r), 'stroke="#eee"'));
    out.push(text(box.left - 6, y(r) + 4, r.toFixed(step < 0.5 ? 1 : 1), 'text-anchor="end"'));
  }
  [...new Set(series.map((s) => s.limit))].forEach((limit, i) => {
    out.push(
      line(
        box.left,
        y(limit),
        box.left + box.width,
        y(limit),
        'stroke="#2ca02c" stroke-dasharray="2 3"',
      ),
    );
    // Side by side, so that close targets (1.05, 1.1) stay readable.
    out.push(
      text(
        box.left + box.width - 2 - i * 70,
        y(limit) - 3,
        `target ${limit}`,
        'text-anchor="end" fill="#2ca02c"',
      ),
    );
  });
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    for (const [which, dash] of [
      ["medianRatio", ""],
      ["p95Ratio", 'stroke-dasharray="6 4"'],
    ] as const) {
      const points = s.points
        .filter((p) => Number.isFinite(p.comparison[which]))
        .map((p) => `${f(x(p.n))},${f(y(p.comparison[which]))}`);
      if (points.length === 0) continue;
      out.push(
        `<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2" ${dash}/>`,
      );
      for (const point of points) {
        const [px, py] = point.split(",");
        out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
      }
    }
    const ly = box.top + box.height + 36 + i * 16;
    out.push(line(box.left, ly - 4, box.left + 24, ly - 4, `stroke="${color}" stroke-width="2"`));
    out.push(text(box.left + 30, ly, `${s.label}: median (solid), p95 (dashed)`));
  });
  return out;
}

/** Panel B: per scenario, the driver's and the baseline's latencies (box p25-p75, whiskers p5-p95). */
function distributionPanel(distributions: ReadonlyArray<Distribution>, box: Box): string[] {
  const out: string[] = [];
  const all = distributions.flatMap((d) => [...d.driver, ...d.baseline]).filter((v) => v > 0);
  const lo = Math.max(0.1, quantile(all, 0) * 0.8);
  const hi = Math.max(lo * 10, quantile(all, 1) * 1.2);
  const x = (v: number) =>
    box.left +
    ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) *
      box.width;
  out.push(
    text(box.left, box.top - 14, "Latency distributions (ms, log scale)", 'font-weight="bold"'),
  );
  out.push(
    line(
      box.left,
      box.top + box.height,
      box.left + box.width,
      box.top + box.height,
      'stroke="#333"',
    ),
  );
  for (let decade = Math.floor(Math.log10(lo)); decade <= Math.ceil(Math.log10(hi)); decade++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** decade;
      if (v < lo || v > hi) continue;
      out.push(line(x(v), box.top, x(v), box.top + box.height + 4, 'stroke="#eee"'));
      out.push(
        text(
          x(v),
          box.top + box.height + 16,
          v >= 1 ? String(v) : v.toFixed(1),
          'text-anchor="middle"',
        ),
      );
    }
  }
  const rowHeight = box.height / Math.max(1, distributions.length);
  distributions.forEach((d, i) => {
    const top = box.top + i * rowHeight;
    out.push(text(box.left - 6, top + rowHeight / 2 + 4, d.label, 'text-anchor="end"'));
    const draw = (samples: ReadonlyArray<number>, color: string, offset: number) => {
      if (samples.length === 0) return;
      const cy = top + rowHeight / 2 + offset;
      const h = Math.min(10, rowHeight / 4);
      const [p5, p25, p50, p75, p95] = [0.05, 0.25, 0.5, 0.75, 0.95].map((q) =>
        quantile(samples, q),
      ) as [number, number, number, number, number];
      out.push(line(x(p5), cy, x(p95), cy, `stroke="${color}"`));
      out.push(
        `<rect x="${f(x(p25))}" y="${f(cy - h / 2)}" width="${f(Math.max(1, x(p75) - x(p25)))}" height="${f(h)}" fill="${color}" fill-opacity="0.35" stroke="${color}"/>`,
      );
      out.push(
        line(x(p50), cy - h / 2, x(p50), cy + h / 2, `stroke="${color}" stroke-width="2.5"`),
      );
    };
    draw(d.driver, DRIVER, -rowHeight / 6);
    draw(d.baseline, BASELINE, rowHeight / 6);
  });
  const ly = box.top + box.height + 36;
  out.push(
    `<rect x="${f(box.left)}" y="${f(ly - 9)}" width="20" height="9" fill="${DRIVER}" fill-opacity="0.35" stroke="${DRIVER}"/>`,
  );
  out.push(text(box.left + 26, ly, "driver (widget)"));
  out.push(
    `<rect x="${f(box.left + 140)}" y="${f(ly - 9)}" width="20" height="9" fill="${BASELINE}" fill-opacity="0.35" stroke="${BASELINE}"/>`,
  );
  out.push(text(box.left + 166, ly, "matrix-js-sdk directly"));
  out.push(text(box.left, ly + 16, "box: p25 to p75, thick mark: median, whiskers: p5 to p95"));
  return out;
}

export function chartSvg(input: {
  readonly title: string;
  readonly caption: string;
  readonly ratios: ReadonlyArray<RatioSeries>;
  readonly distributions: ReadonlyArray<Distribution>;
}): string {
  const body = [
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    text(20, 28, input.title, 'font-size="16" font-weight="bold"'),
    ...ratioPanel(input.ratios, { left: 60, top: 70, width: 340, height: 340 }),
    ...distributionPanel(input.distributions, { left: 640, top: 70, width: 310, height: 340 }),
    text(20, HEIGHT - 14, input.caption, 'fill="#555"'),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11" role="img" aria-labelledby="title">`,
    `  <title id="title">${esc(`${input.title}: ${input.caption}`)}</title>`,
    ...body.map((element) => `  ${element}`),
    "</svg>",
    "",
  ].join("\n");
}
