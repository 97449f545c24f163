import { examScope, type Principal } from '../auth/index.js';
import { forbidden } from '../shared/index.js';

/** A proctor token limited to some exams may not read or act on the others (403, same tenant). */
export function assertExamInScope(principal: Principal, examId: string): void {
  const allowed = examScope(principal);
  if (allowed && !allowed.includes(examId)) throw forbidden('this credential is not allowed for that exam');
}
