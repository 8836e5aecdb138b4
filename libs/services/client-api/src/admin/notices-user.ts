import { parseUserId, type UserId } from '@axon/matrix-identifiers';
import type { AxonConfig } from '@axon/platform-config';

/** The server notices user's ID, `@<system_mxid_localpart>:<server_name>`; `undefined` while server notices are off. */
export function noticesUserIdOf(config: AxonConfig): UserId | undefined {
  const localpart = config.server_notices.system_mxid_localpart;
  if (localpart === undefined) return undefined;
  const parsed = parseUserId(`@${localpart}:${config.server_name}`);
  // The configuration library checks the localpart at boot; this is that check failing.
  if (!parsed.ok) throw new Error(`server_notices.system_mxid_localpart makes no user ID: ${parsed.error}`);
  return parsed.value;
}
