/** Who is making a request, resolved from its credential. Every service call is scoped by `tenantId`. */
export type Principal =
  | { kind: 'apiKey'; tenantId: string; clientId: string; name: string }
  | { kind: 'user'; tenantId: string; userId: string; role: 'admin' | 'proctor' }
  /** A proctor JWT minted by `POST /proctor-tokens` for an embedded dashboard. */
  | { kind: 'proctorToken'; tenantId: string; name: string; examIds: string[] | null }
  | { kind: 'candidate'; tenantId: string; candidateId: string; sessionId: string; examId: string };

/** The names routes use to say who may call them. */
export type Audience = 'apiKey' | 'admin' | 'proctor' | 'candidate';

export function audienceOf(principal: Principal): Audience {
  switch (principal.kind) {
    case 'apiKey':
      return 'apiKey';
    case 'user':
      return principal.role;
    case 'proctorToken':
      return 'proctor';
    case 'candidate':
      return 'candidate';
    default:
      return assertNever(principal);
  }
}

/** Label used as the audit log's `actor`. */
export function actorOf(principal: Principal): string {
  switch (principal.kind) {
    case 'apiKey':
      return `apikey:${principal.clientId}`;
    case 'user':
      return `user:${principal.userId}`;
    case 'proctorToken':
      return `proctor:${principal.name}`;
    case 'candidate':
      return `candidate:${principal.candidateId}`;
    default:
      return assertNever(principal);
  }
}

/** Exams a proctor credential is limited to; null means every exam of the tenant. */
export function examScope(principal: Principal): string[] | null {
  if (principal.kind === 'proctorToken') return principal.examIds;
  if (principal.kind === 'candidate') return [principal.examId];
  return null;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
