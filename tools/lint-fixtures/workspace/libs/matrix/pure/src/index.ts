export const pure = (): string => 'pure';
