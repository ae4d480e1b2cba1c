import 'reflect-metadata';
import { runService } from '@trustplane/platform';
import { loadSignerConfig } from './config.js';
import { startSigner } from './server.js';

runService('signer', () => loadSignerConfig(), (config) => startSigner(config));
