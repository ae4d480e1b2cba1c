export { startSigner, type SignerServer } from './server.js';
export { loadSignerConfig, signerConfigSchema, type SignerConfig } from './config.js';
export { CaService, keyManagerSigner, type ServedDeployment } from './ca-service.js';
