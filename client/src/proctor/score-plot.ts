/**
 * The score over time as a small SVG: a step line of the score (0..100) and, under it, one bar
 * per violation for its span (grey when a reviewer dismissed it). Same drawing as the PDF's.
 */
import type { SessionReportView } from './report-types.js';

const svgNs = 'http://www.w3.org/2000/svg';
const width = 600;
const plotHeight = 100;
const barHeight = 8;

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

export function scorePlot(report: SessionReportView): SVGSVGElement {
  const spans = report.violations;
  const now = Date.parse(report.generatedAt);
  const times = [
    ...report.scoreCurve.map((p) => Date.parse(p.at)),
    ...spans.flatMap((v) => [Date.parse(v.startedAt), v.endedAt ? Date.parse(v.endedAt) : now]),
    ...(report.session.endedAt ? [Date.parse(report.session.endedAt)] : []),
  ];
  const start = times.length > 0 ? Math.min(...times) : now;
  const end = Math.max(start + 1000, ...times);
  const height = plotHeight + 12 + spans.length * (barHeight + 4);
  const x = (ms: number) => ((ms - start) / (end - start)) * width;
  const y = (score: number) => plotHeight - (score / 100) * plotHeight;

  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'data-testid': 'score-plot',
    'aria-label': `Suspicion score over time, ending at ${report.explanation.score}; ${spans.length} violation span${spans.length === 1 ? '' : 's'}`,
  });
  root.append(svg('rect', { x: 0, y: 0, width, height: plotHeight, fill: 'none', stroke: '#bbb' }));
  let path = `M 0 ${y(0)}`;
  let last = y(0);
  for (const point of report.scoreCurve) {
    const px = x(Date.parse(point.at));
    path += ` L ${px} ${last} L ${px} ${y(point.score)}`;
    last = y(point.score);
  }
  path += ` L ${width} ${last}`;
  root.append(svg('path', { d: path, fill: 'none', stroke: '#1f4e8c', 'stroke-width': 2 }));
  spans.forEach((v, index) => {
    const from = x(Date.parse(v.startedAt));
    const to = Math.max(from + 2, x(v.endedAt ? Date.parse(v.endedAt) : now));
    const bar = svg('rect', {
      x: from,
      y: plotHeight + 8 + index * (barHeight + 4),
      width: to - from,
      height: barHeight,
      fill: v.decision === 'dismissed' ? '#aaa' : '#c0392b',
      'data-type': v.type,
    });
    const title = svg('title', {});
    title.textContent = v.type;
    bar.append(title);
    root.append(bar);
  });
  return root;
}
