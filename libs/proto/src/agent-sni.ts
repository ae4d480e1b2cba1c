/**
 * Part of the agent API's wire contract that the .proto cannot express: the TLS SNI an agent
 * sends names the trust domain it talks to, and the signer picks that trust domain's serving
 * certificate and client-CA set by it.
 */

/** SNI suffix of the agent API: `<trust domain id>.agents.trustplane`. */
export const AGENT_SNI_SUFFIX = '.agents.trustplane';

/** The SNI an agent sends for a trust domain (`td-…`). */
export function agentApiSni(trustDomainId: string): string {
  return `${trustDomainId}${AGENT_SNI_SUFFIX}`;
}
