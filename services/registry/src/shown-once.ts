// Shown-once secrets are handled alike by every REST service (libs/api-kit).
export { SHOWN_ONCE, ShownOnce, secretShownOnce, withoutSecrets } from '@trustplane/api-kit';
