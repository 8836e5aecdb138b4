export const startB = (): string => 'b';
