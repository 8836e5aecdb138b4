/**
 * The state machine of user-interactive authentication, free of I/O.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#user-interactive-authentication-api
 *
 * A server offers flows (ordered lists of stage types); a client picks one and completes
 * its stages in order. A stage may be attempted when the completed stages are a prefix of
 * some flow and that flow's next stage is the one attempted; authentication is complete
 * when the completed stages are exactly one whole flow.
 */
export interface UiaFlow {
  readonly stages: readonly string[];
}

function isPrefix(prefix: readonly string[], of: readonly string[]): boolean {
  return prefix.length <= of.length && prefix.every((stage, i) => of[i] === stage);
}

/** Whether `stage` is the next stage of some flow that the completed stages follow. */
export function canAttemptStage(flows: readonly UiaFlow[], completed: readonly string[], stage: string): boolean {
  return flows.some((flow) => isPrefix(completed, flow.stages) && flow.stages[completed.length] === stage);
}

/** Whether the completed stages make up one whole flow. */
export function isAuthComplete(flows: readonly UiaFlow[], completed: readonly string[]): boolean {
  return flows.some((flow) => flow.stages.length === completed.length && isPrefix(completed, flow.stages));
}

/** Whether `stage` appears in any flow (an unknown type is a client error, not a failed stage). */
export function isOfferedStage(flows: readonly UiaFlow[], stage: string): boolean {
  return flows.some((flow) => flow.stages.includes(stage));
}

/** The 401 body the spec prescribes: flows, params, session, completed, and an error when a stage failed. */
export interface UiaResponseBody {
  readonly flows: readonly UiaFlow[];
  readonly params: Readonly<Record<string, unknown>>;
  readonly session: string;
  readonly completed?: readonly string[];
  readonly errcode?: string;
  readonly error?: string;
}
