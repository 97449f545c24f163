import { and, desc, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/index.js';
import { actorOf, examScope, type Principal } from '../auth/index.js';
import { exams, type Database } from '../db/index.js';
import { notFound } from '../shared/index.js';
import { policySchema, type PolicyInput } from './policy.js';
import { assertExamInScope } from './scope.js';
import { examView, type ExamView } from './views.js';

export async function createExam(
  db: Database,
  principal: Principal,
  input: { title: string; durationMinutes: number; policy?: PolicyInput | undefined },
): Promise<ExamView> {
  const policy = policySchema.parse(input.policy ?? {});
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(exams)
      .values({
        tenantId: principal.tenantId,
        title: input.title,
        durationMinutes: input.durationMinutes,
        policy,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await appendAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: 'exam.create',
      target: row.id,
      details: { title: row.title, durationMinutes: row.durationMinutes },
    });
    return examView(row);
  });
}

/** The exam row if it belongs to the principal's tenant (404 otherwise) and is in its scope (403). */
export async function loadExam(
  db: Database,
  principal: Principal,
  examId: string,
): Promise<typeof exams.$inferSelect> {
  const [row] = await db
    .select()
    .from(exams)
    .where(and(eq(exams.id, examId), eq(exams.tenantId, principal.tenantId)));
  if (!row) throw notFound('exam');
  assertExamInScope(principal, row.id);
  return row;
}

export async function getExam(db: Database, principal: Principal, examId: string): Promise<ExamView> {
  return examView(await loadExam(db, principal, examId));
}

export async function listExams(db: Database, principal: Principal, limit: number): Promise<ExamView[]> {
  const rows = await db
    .select()
    .from(exams)
    .where(eq(exams.tenantId, principal.tenantId))
    .orderBy(desc(exams.createdAt))
    .limit(limit);
  const scope = examScope(principal);
  return rows.filter((row) => !scope || scope.includes(row.id)).map(examView);
}
