import { runService } from '@trustplane/platform';
import { loadFederationConfig } from './config.js';
import { startFederation } from './server.js';

runService('federation', () => loadFederationConfig(), (config) => startFederation(config), { waitFor: ['nats'] });
