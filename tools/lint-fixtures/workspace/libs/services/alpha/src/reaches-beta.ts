// Broken on purpose: a service library importing another service library.
import { beta } from '@fixture/services-beta';
export const viaBeta = (): string => beta();
