import PDFDocument from 'pdfkit';
import type { EvidenceFile } from './evidence-files.js';
import type { SessionReport } from './report.js';

const margin = 48;
const muted = '#555555';
const accent = '#1f4e8c';
const thumbnailWidth = 120;

/**
 * The session report as a PDF (pdfkit, vector drawing): facts, the score explained, a plot of the
 * score over time with each violation's span under it, evidence thumbnails, reviews, and the
 * audit entries with their chain hashes. Same content as the JSON, for people.
 */
export function renderReportPdf(report: SessionReport, files: readonly EvidenceFile[]): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin,
    info: { Title: `Vigil session report ${report.session.id}` },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  header(doc, report);
  facts(doc, report);
  explanation(doc, report);
  plot(doc, report);
  thumbnails(doc, report, files);
  reviews(doc, report);
  audit(doc, report);
  doc.end();
  return done;
}

type Doc = PDFKit.PDFDocument;

function heading(doc: Doc, text: string): void {
  if (doc.y > doc.page.height - 140) doc.addPage();
  doc.moveDown(0.8).font('Helvetica-Bold').fontSize(13).fillColor(accent).text(text).moveDown(0.3);
  doc.font('Helvetica').fontSize(10).fillColor('black');
}

function header(doc: Doc, report: SessionReport): void {
  doc.font('Helvetica-Bold').fontSize(18).text('Vigil session report');
  doc.font('Helvetica').fontSize(10).fillColor(muted);
  doc.text(`${report.exam.title} · ${report.candidate.name} (${report.candidate.externalId})`);
  doc.text(`Session ${report.session.id} · generated ${report.generatedAt}`).fillColor('black');
}

function facts(doc: Doc, report: SessionReport): void {
  heading(doc, 'Session');
  const verification = (report.verification ?? {}) as Record<
    string,
    { status?: string; similarity?: number }
  >;
  const rows: [string, string][] = [
    ['Status', report.session.status],
    ['Started', report.session.startedAt ?? '—'],
    ['Ended', report.session.endedAt ?? '—'],
    ['Suspicion score', `${report.session.suspicionScore} / 100`],
    [
      'Identity check',
      verification.identity
        ? `${verification.identity.status ?? '—'}${
            typeof verification.identity.similarity === 'number'
              ? ` (similarity ${verification.identity.similarity.toFixed(2)})`
              : ''
          }`
        : 'not checked',
    ],
    ['Liveness check', verification.liveness?.status ?? 'not checked'],
  ];
  const accommodations = report.accommodations.description;
  rows.push(['Accommodations', accommodations.length > 0 ? accommodations.join('; ') : 'none']);
  for (const [term, value] of rows) {
    doc.font('Helvetica-Bold').text(`${term}: `, { continued: true }).font('Helvetica').text(value);
  }
}

function explanation(doc: Doc, report: SessionReport): void {
  heading(doc, 'What was recorded, and what it adds to the score');
  const items = report.explanation.contributions;
  if (items.length === 0) {
    doc.text('Nothing was recorded against this candidate.');
    return;
  }
  for (const c of items) {
    const review =
      c.decision === 'dismissed'
        ? ' — dismissed by a reviewer, not counted'
        : c.decision === 'confirmed'
          ? ' — confirmed by a reviewer'
          : '';
    doc.text(`• ${c.sentence}${review}`);
    doc
      .fillColor(muted)
      .fontSize(8)
      .text(
        `   ${c.type}, ${c.severity} (weight ${c.weight}) × confidence ${c.confidence.toFixed(2)} = ${c.points} points`,
      )
      .fontSize(10)
      .fillColor('black');
  }
  doc.moveDown(0.3).text(`Score: ${report.explanation.score} (the sum, capped at 100).`);
}

/** The score over time (a step line) and, under it, one bar per violation for its span. */
function plot(doc: Doc, report: SessionReport): void {
  heading(doc, 'Timeline');
  const violations = report.violations;
  const times = [
    ...report.scoreCurve.map((p) => Date.parse(p.at)),
    ...violations.flatMap((v) => [Date.parse(v.startedAt), Date.parse(v.endedAt ?? report.generatedAt)]),
    ...(report.session.endedAt ? [Date.parse(report.session.endedAt)] : []),
  ];
  if (times.length === 0) {
    doc.text('The session never started.');
    return;
  }
  const start = Math.min(...times);
  const end = Math.max(start + 1000, ...times);
  const width = doc.page.width - 2 * margin;
  const plotHeight = 80;
  const barHeight = 8;
  const needed = plotHeight + 30 + violations.length * (barHeight + 4);
  if (doc.y + needed > doc.page.height - margin) doc.addPage();
  const top = doc.y;
  const x = (ms: number) => margin + ((ms - start) / (end - start)) * width;
  const y = (score: number) => top + plotHeight - (score / 100) * plotHeight;

  doc.lineWidth(0.5).strokeColor('#bbbbbb').rect(margin, top, width, plotHeight).stroke();
  doc
    .fontSize(7)
    .fillColor(muted)
    .text('100', margin - 18, top - 3)
    .text('0', margin - 10, top + plotHeight - 5);
  doc.strokeColor(accent).lineWidth(1.5);
  let previous = { x: x(start), y: y(0) };
  doc.moveTo(previous.x, previous.y);
  for (const point of report.scoreCurve) {
    const px = x(Date.parse(point.at));
    doc.lineTo(px, previous.y).lineTo(px, y(point.score));
    previous = { x: px, y: y(point.score) };
  }
  doc.lineTo(x(end), previous.y).stroke();

  let rowY = top + plotHeight + 8;
  doc.fontSize(7);
  for (const v of violations) {
    const from = x(Date.parse(v.startedAt));
    const to = Math.max(from + 2, x(Date.parse(v.endedAt ?? report.generatedAt)));
    doc
      .fillColor(v.decision === 'dismissed' ? '#aaaaaa' : '#c0392b')
      .rect(from, rowY, to - from, barHeight)
      .fill();
    doc.fillColor(muted).text(v.type, Math.min(to + 3, margin + width - 60), rowY, { lineBreak: false });
    rowY += barHeight + 4;
  }
  doc
    .fillColor(muted)
    .text(`${new Date(start).toISOString()}  →  ${new Date(end).toISOString()}`, margin, rowY + 2);
  doc.x = margin;
  doc.y = rowY + 14;
  doc.fontSize(10).fillColor('black');
}

function thumbnails(doc: Doc, report: SessionReport, files: readonly EvidenceFile[]): void {
  const pictures = files.filter(
    (f) => f.bytes && (f.mediaType === 'image/jpeg' || f.mediaType === 'image/png'),
  );
  heading(doc, 'Evidence');
  const others = files.length - pictures.length;
  if (files.length === 0) return void doc.text('No evidence files.');
  let column = 0;
  let rowTop = doc.y;
  for (const file of pictures) {
    if (column === 0 && rowTop + 110 > doc.page.height - margin) {
      doc.addPage();
      rowTop = doc.y;
    }
    const left = margin + column * (thumbnailWidth + 12);
    try {
      doc.image(file.bytes!, left, rowTop, { fit: [thumbnailWidth, 90] });
    } catch {
      // A file the PDF library cannot decode is still listed by its hash below.
      doc.fontSize(7).text('(not viewable)', left, rowTop + 40);
    }
    const type = report.violations.find((v) => v.id === file.violationId)?.type ?? '';
    doc
      .fontSize(6)
      .fillColor(muted)
      .text(`${type} · sha256 ${file.sha256.slice(0, 16)}…`, left, rowTop + 92, {
        width: thumbnailWidth,
      });
    doc.fillColor('black');
    column = (column + 1) % 4;
    if (column === 0) rowTop += 110;
  }
  doc.x = margin;
  doc.y = column === 0 ? rowTop : rowTop + 110;
  doc.fontSize(9);
  for (const file of files.filter((f) => !pictures.includes(f))) {
    doc.text(
      `${file.kind} (${file.mediaType}) sha256 ${file.sha256}${file.missing ? ` — ${file.missing}` : ''}`,
    );
  }
  if (others > 0) doc.moveDown(0.2);
  doc.fontSize(10);
}

function reviews(doc: Doc, report: SessionReport): void {
  heading(doc, 'Reviews');
  if (report.reviews.length === 0) return void doc.text('No one has reviewed this session yet.');
  for (const r of report.reviews) {
    const scope = r.violationId ? `violation ${r.violationId}` : 'the whole session';
    doc.text(`${r.at} · ${r.reviewer} ${r.decision} ${scope}: ${r.note}`);
  }
}

function audit(doc: Doc, report: SessionReport): void {
  heading(doc, 'Audit entries (hash chain)');
  doc.fontSize(7).fillColor(muted);
  doc.text(
    'Each hash is sha256(previous hash + canonical JSON of the entry); GET /api/v1/audit/verify checks the chain.',
  );
  doc.fillColor('black');
  for (const e of report.auditEntries) {
    doc.font('Helvetica-Bold').text(`#${e.seq} ${e.at} ${e.action} by ${e.actor}`, { continued: false });
    doc.font('Courier').text(`hash ${e.hash}  prev ${e.prevHash}`);
    doc.font('Helvetica');
  }
  doc.fontSize(10);
}
