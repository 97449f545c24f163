import { z } from 'zod';
import { sessionActions } from '../proctoring/index.js';

/** Text fields: trimmed, no control characters, bounded. Injection-looking text is fine (stored literally). */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    // Control characters other than tab and line breaks.
    .refine((value) => !/[^\P{Cc}\t\n\r]/u.test(value), 'must not contain control characters');

const uuid = (name: string) => z.uuid({ error: `${name} must be a UUID` });
export const idParams = z.strictObject({ id: uuid('id') });
export const examIdParams = z.strictObject({ examId: uuid('examId') });

export const loginBody = z.strictObject({ email: z.email().max(320), password: z.string().min(1).max(1024) });
export const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

export const createExamBody = z.strictObject({
  title: text(300),
  durationMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60),
  /** Validated against the policy schema by the service (so the error names the policy field). */
  policy: z.record(z.string(), z.unknown()).optional(),
});

export const createCandidateBody = z.strictObject({ externalId: text(200), name: text(300) });

export const createSessionBody = z.strictObject({
  candidateId: z.uuid({ error: 'candidateId must be a UUID' }),
});

export const sessionActionBody = z.strictObject({
  action: z.enum(sessionActions),
  message: text(1000).optional(),
});

export const proctorTokenBody = z.strictObject({
  name: text(200),
  examIds: z.array(z.uuid()).min(1).max(500).optional(),
});

export const auditQuery = z.strictObject({
  after: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

export const verifyBody = z.strictObject({ candidateId: z.uuid(), image: z.string().min(1).max(14_000_000) });
