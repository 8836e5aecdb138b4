// Allowed: an app composes services and platform libraries.
import { alpha } from '@fixture/services-alpha';
import { okay } from '@fixture/platform-okay';
export const composed = (): string => alpha() + okay();
