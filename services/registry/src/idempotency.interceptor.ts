// Idempotency-Key handling is shared by every REST service (libs/api-kit).
export { IdempotencyInterceptor } from '@trustplane/api-kit';
