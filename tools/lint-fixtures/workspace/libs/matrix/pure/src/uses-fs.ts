// Broken on purpose: libs/matrix doing I/O.
import { readFileSync } from 'node:fs';
export const read = readFileSync;
