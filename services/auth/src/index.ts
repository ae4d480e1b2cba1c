export { startAuth, openCredentialKeyManager, type AuthServer } from './server.js';
export { loadAuthConfig, authConfigSchema, type AuthConfig } from './config.js';
export { authMigrations } from './migrations/index.js';
export { authProjections, authModelProjection } from './model/auth.projection.js';
export { DEPLOYMENT_KEY, deploymentKeyDecider, type DeploymentKeyCommand, type DeploymentKeyState } from './domain/deployment-key.js';
export { canonicalJson, chain, GENESIS_HASH, recordHash, verifyChain, type ChainAnchor, type ChainedRecord, type ChainProblem, type ChainVerdict } from './audit/chain.js';
