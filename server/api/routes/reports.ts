import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceContext } from '../../app/context.js';
import {
  buildBundle,
  buildReport,
  candidateOutcome,
  candidatePageSettings,
  evidenceFilesOf,
  renderReportPdf,
} from '../../reports/index.js';
import { principalOf } from '../request.js';
import { idParams } from '../schemas.js';

const readers = ['apiKey', 'admin', 'proctor'] as const;

/** Whether the client asked for the PDF rather than the JSON (`Accept: application/pdf`). */
const wantsPdf = (accept: string | undefined) => /\bapplication\/pdf\b/i.test(accept ?? '');

/** The session report (CONTRACT "Reports and appeals"): JSON, or the same as a PDF. */
export const reportRoutes =
  (context: ServiceContext): FastifyPluginAsyncZod =>
  async (app) => {
    const { db } = context;

    app.get(
      '/sessions/:id/report',
      { config: { auth: readers }, schema: { tags: ['reports'], params: idParams } },
      async (request, reply) => {
        const principal = principalOf(request);
        const report = await buildReport(db, principal, request.params.id);
        if (!wantsPdf(request.headers.accept)) return report;
        const files = await evidenceFilesOf(
          context,
          principal.tenantId,
          report.violations.map((v) => v.id),
        );
        const pdf = await renderReportPdf(report, files);
        return reply
          .type('application/pdf')
          .header('content-disposition', `inline; filename="session-${report.session.id}.pdf"`)
          .send(pdf);
      },
    );

    // The candidate's own outcome (the page /candidate/outcome?token=… reads it).
    app.get(
      '/candidate/outcome',
      { config: { auth: ['candidate'] }, schema: { tags: ['reports'] } },
      async (request) => candidateOutcome(db, principalOf(request)),
    );

    // What the candidate page needs to know before Join (fullscreen handling).
    app.get(
      '/candidate/settings',
      { config: { auth: ['candidate'] }, schema: { tags: ['reports'] } },
      async (request) => candidatePageSettings(db, principalOf(request)),
    );

    // The appeal bundle: the report, its evidence and audit entries, checkable offline.
    app.get(
      '/sessions/:id/bundle',
      { config: { auth: readers }, schema: { tags: ['reports'], params: idParams } },
      async (request, reply) => {
        const bundle = await buildBundle(context, principalOf(request), request.params.id);
        return reply
          .type('application/zip')
          .header('content-disposition', `attachment; filename="session-${bundle.sessionId}.zip"`)
          .send(bundle.zip);
      },
    );
  };
