export * from './http-app';
export * from './health.controller';
export * from './matrix-exception.filter';
export * from './service-app';
export * from './access-token';
export * from './request-body';
export * from './identifier-pipes';
