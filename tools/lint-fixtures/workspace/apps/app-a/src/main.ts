// Broken on purpose: an app importing another app.
import { startB } from '@fixture/app-b';
export const startA = (): string => startB();
