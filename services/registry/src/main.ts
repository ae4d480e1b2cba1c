import 'reflect-metadata';
import { runService } from '@trustplane/platform';
import { loadRegistryConfig } from './config.js';
import { startRegistry } from './server.js';

runService('registry', () => loadRegistryConfig(), (config) => startRegistry(config));
