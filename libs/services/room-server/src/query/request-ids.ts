import type { Result } from '@axon/matrix-errors';

/*
 * gRPC requests name rooms, events, users and aliases as strings: each handler parses
 * them once, here, before it reads anything. The room server stores only identifiers it
 * parsed or made, so one that does not parse names nothing stored, and a handler answers
 * it as it answers an unknown one (what it answered before it parsed at all).
 */

/** The identifier `input` parses to, or `undefined`: it names nothing stored. */
export function known<T>(parse: (input: string) => Result<T>, input: string): T | undefined {
  const parsed = parse(input);
  return parsed.ok ? parsed.value : undefined;
}

/** The identifiers of `inputs` that parse, in order; the others name nothing stored. */
export function knownOnly<T>(parse: (input: string) => Result<T>, inputs: readonly string[]): T[] {
  return inputs.flatMap((input) => {
    const parsed = parse(input);
    return parsed.ok ? [parsed.value] : [];
  });
}
