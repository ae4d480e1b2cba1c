import 'reflect-metadata';
import { runService } from '@trustplane/platform';
import { loadAuthConfig } from './config.js';
import { startAuth } from './server.js';

runService('auth', () => loadAuthConfig(), (config) => startAuth(config));
