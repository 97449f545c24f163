import { z } from 'zod';

/** Claim names of LTI 1.3 Core and LTI Proctoring Services 1.0 (LTI-AP). */
const lti = 'https://purl.imsglobal.org/spec/lti/claim/';
const ap = 'https://purl.imsglobal.org/spec/lti-ap/claim/';

export const claim = {
  messageType: `${lti}message_type`,
  version: `${lti}version`,
  deploymentId: `${lti}deployment_id`,
  resourceLink: `${lti}resource_link`,
  attemptNumber: `${ap}attempt_number`,
  sessionData: `${ap}session_data`,
  startAssessmentUrl: `${ap}start_assessment_url`,
  proctoringSettings: `${ap}proctoring_settings`,
  acs: `${ap}acs`,
  verifiedUser: `${ap}verified_user`,
  endAssessmentReturn: `${ap}end_assessment_return`,
} as const;

export const controlScope = 'https://purl.imsglobal.org/spec/lti-ap/scope/control.all';
export const controlMediaType = 'application/vnd.ims.lti-ap.v1.control+json';

export const ltiVersion = '1.3.0';
export const launchMessageTypes = ['LtiStartProctoring', 'LtiEndAssessment'] as const;
export type LaunchMessageType = (typeof launchMessageTypes)[number];

const shortText = z.string().min(1).max(1000);
/** attempt_number is a number in the specification; some platforms send it as a string. */
const attemptNumber = z.union([z.number().int().min(0).max(1e9), z.string().min(1).max(100)]);

/** The claims every launch Vigil accepts must carry (checked after the signature). */
export const launchClaimsSchema = z.object({
  sub: shortText,
  name: z.string().max(500).optional(),
  given_name: z.string().max(500).optional(),
  family_name: z.string().max(500).optional(),
  email: z.string().max(500).optional(),
  [claim.version]: z.literal(ltiVersion, { error: `the ${claim.version} claim must be ${ltiVersion}` }),
  [claim.messageType]: z.enum(launchMessageTypes, {
    error: 'the message type must be LtiStartProctoring or LtiEndAssessment',
  }),
  [claim.deploymentId]: shortText,
  [claim.resourceLink]: z.looseObject({ id: shortText, title: z.string().max(500).optional() }),
  [claim.attemptNumber]: attemptNumber,
});
export type LaunchClaims = z.infer<typeof launchClaimsSchema> & Record<string, unknown>;

/** What LtiStartProctoring adds. */
export const startProctoringClaimsSchema = z.object({
  [claim.startAssessmentUrl]: z.url({ protocol: /^https?$/ }).max(2000),
  [claim.sessionData]: z.string().max(10_000).optional(),
  [claim.proctoringSettings]: z.looseObject({ data: z.string().max(10_000).optional() }).optional(),
  [claim.acs]: z
    .looseObject({
      assessment_control_url: z.url({ protocol: /^https?$/ }).max(2000),
      actions: z.array(z.string().max(50)).max(20).optional(),
    })
    .optional(),
});
export type StartProctoringClaims = z.infer<typeof startProctoringClaimsSchema>;

/** The first problem zod found, as a sentence naming the claim. */
export function claimProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'the launch is missing a claim';
  const name = issue.path.map(String).join('.');
  return issue.code === 'invalid_type' && issue.input === undefined
    ? `the launch is missing the ${name} claim`
    : `the ${name} claim is not valid: ${issue.message}`;
}
