// Broken on purpose: libs/matrix depending on a platform library.
import { okay } from '@fixture/platform-okay';
export const up = okay;
