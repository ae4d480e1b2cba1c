// The principal and scope check are shared by every REST service (libs/api-kit).
export { hasScope, type Principal } from '@trustplane/api-kit';
