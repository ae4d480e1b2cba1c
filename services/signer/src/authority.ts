import type { ApiScope, DomainEnvelope } from '@trustplane/events';
import type { EventLog, LoadedAggregate } from '@trustplane/eventstore';
import type { Clock } from '@trustplane/platform';
import { API_TOKEN } from '@trustplane/registry-domain';
import { parseAuthority, scopesAllow, type SignerAuthority } from '@trustplane/signer-api';

/** A request whose authority does not allow it: nothing is done (403). */
export class SignerForbiddenError extends Error {
  override readonly name = 'SignerForbiddenError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the event log says about one API token. */
interface TokenFacts {
  readonly phase: 'absent' | 'active' | 'revoked';
  readonly scopes: readonly ApiScope[];
  readonly expiresAt: number | null;
  /** An event on the token's subject whose envelope names another tenant or aggregate. */
  readonly mismatched: boolean;
}

function tokenFold(tenant: string, tokenId: string): { initialState(): TokenFacts; evolve(state: TokenFacts, event: DomainEnvelope): TokenFacts } {
  return {
    initialState: () => ({ phase: 'absent', scopes: [], expiresAt: null, mismatched: false }),
    evolve(state, event) {
      if (event.tenant !== tenant || event.aggregateType !== API_TOKEN || event.aggregateId !== tokenId) return { ...state, mismatched: true };
      if (event.type === 'apitoken.created') {
        const data = event.data as { scopes: readonly ApiScope[]; expiresAt: string | null };
        return { ...state, phase: 'active', scopes: data.scopes, expiresAt: data.expiresAt === null ? null : Date.parse(data.expiresAt) };
      }
      if (event.type === 'apitoken.revoked') return { ...state, phase: 'revoked' };
      return state;
    },
  };
}

/**
 * Re-checks the authority a signer request carries against the event log: the API token exists
 * in the named organization (its events live under that organization's subject and say so),
 * is neither revoked nor expired, holds every scope the request claims, and one of them grants
 * the operation. The registry checked the same before sending; this is the second layer, for a
 * request that reached the signer some other way.
 */
export class AuthorityVerifier {
  private readonly tokens = new Map<string, LoadedAggregate<TokenFacts>>();

  constructor(
    private readonly log: EventLog,
    private readonly clock: Clock,
  ) {}

  /** The verified authority, or SignerForbiddenError with the reason's code. */
  async verify(value: unknown, required: ApiScope): Promise<SignerAuthority> {
    const parsed = parseAuthority(value);
    if (!parsed.ok) throw new SignerForbiddenError('AUTHORITY_REQUIRED', parsed.reason);
    const { authority } = parsed;
    const facts = await this.facts(authority);
    if (facts.mismatched) throw new SignerForbiddenError('AUTHORITY_FORGED', "the token's events do not belong to this organization");
    if (facts.phase === 'absent') throw new SignerForbiddenError('AUTHORITY_FORGED', 'no such API token in this organization');
    if (facts.phase === 'revoked') throw new SignerForbiddenError('AUTHORITY_REVOKED', 'the API token is revoked');
    if (facts.expiresAt !== null && facts.expiresAt <= this.clock.now().getTime()) throw new SignerForbiddenError('AUTHORITY_EXPIRED', 'the API token has expired');
    const claimedBeyond = authority.scopes.filter((s) => !facts.scopes.includes(s));
    if (claimedBeyond.length > 0) throw new SignerForbiddenError('AUTHORITY_FORGED', `the API token does not hold ${claimedBeyond.join(', ')}`);
    if (!scopesAllow(facts.scopes, required)) throw new SignerForbiddenError('INSUFFICIENT_SCOPE', `this request needs the ${required} scope`);
    return authority;
  }

  private async facts(authority: SignerAuthority): Promise<TokenFacts> {
    const ref = { tenant: authority.tenant, aggregateType: API_TOKEN, aggregateId: authority.tokenId };
    const fold = tokenFold(authority.tenant, authority.tokenId);
    const key = `${authority.tenant}/${authority.tokenId}`;
    const known = this.tokens.get(key);
    const loaded = known === undefined ? await this.log.load(ref, fold) : await this.log.refresh(ref, fold, known);
    // Only tokens that exist are remembered: made-up ids cannot grow the cache.
    if (loaded.state.phase !== 'absent') this.tokens.set(key, loaded);
    return loaded.state;
  }
}
