export * from './services';
export * from './routes';
export * from './grpc-services';
export * from './nginx-config';
