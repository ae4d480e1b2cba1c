export { signerSchemaMigrations, startSigner, type SignerServer } from './server.js';
export { signerProjection } from './projection.js';
export { loadSignerConfig, signerConfigSchema, type SignerConfig } from './config.js';
export { CaService, keyManagerSigner, type ServedDeployment } from './ca-service.js';
