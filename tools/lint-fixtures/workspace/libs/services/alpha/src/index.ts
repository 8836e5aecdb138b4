import { okay } from '@fixture/platform-okay';
export const alpha = (): string => okay();
