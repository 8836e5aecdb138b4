// Allowed: platform code may use the pure Matrix layer.
import { pure } from '@fixture/matrix-pure';
export const okay = (): string => pure();
