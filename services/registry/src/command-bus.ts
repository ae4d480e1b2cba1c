// The command bus is shared by every service that handles commands over REST (libs/api-kit).
export { COMMAND_BUS_HOOKS, CommandBus, type CommandBusHooks, type PendingAnswer } from '@trustplane/api-kit';
