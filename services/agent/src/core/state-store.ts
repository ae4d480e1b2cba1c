/**
 * What the agent keeps across restarts, in its data directory (0700, files 0600): its private
 * key (PKCS#8 PEM), its X.509-SVID chain, and the last trust bundle it received. With a still
 * valid SVID on disk the agent resumes without attesting again.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Jwk } from '../identity-source.js';

/** The agent's persisted identity and trust material. */
export interface AgentState {
  /** Trust domain ID (`td-…`). */
  readonly trustDomainId: string;
  /** Trust domain name. */
  readonly trustDomain: string;
  /** The agent's SPIFFE ID. */
  readonly spiffeId: string;
  /** The agent's private key. */
  readonly key: KeyObject;
  /** The agent SVID chain, DER, leaf first. */
  readonly chain: readonly Buffer[];
  /** X.509 authorities of the trust domain, DER. */
  readonly x509Authorities: readonly Buffer[];
  /** JWT authorities of the trust domain. */
  readonly jwtAuthorities: readonly Jwk[];
}

interface StoredMeta {
  readonly trustDomainId: string;
  readonly trustDomain: string;
  readonly spiffeId: string;
  readonly chain: readonly string[];
  readonly x509Authorities: readonly string[];
  readonly jwtAuthorities: readonly Jwk[];
}

const KEY_FILE = 'agent-key.pem';
const STATE_FILE = 'agent-state.json';

/** Reads and writes {@link AgentState} in a directory. */
export class StateStore {
  constructor(private readonly dir: string) {}

  /** The stored state, or undefined when there is none (or it does not parse). */
  load(): AgentState | undefined {
    const keyPath = join(this.dir, KEY_FILE);
    const statePath = join(this.dir, STATE_FILE);
    if (!existsSync(keyPath) || !existsSync(statePath)) return undefined;
    try {
      const meta = JSON.parse(readFileSync(statePath, 'utf8')) as StoredMeta;
      const key = createPrivateKey(readFileSync(keyPath, 'utf8'));
      return {
        trustDomainId: meta.trustDomainId,
        trustDomain: meta.trustDomain,
        spiffeId: meta.spiffeId,
        key,
        chain: meta.chain.map((c) => Buffer.from(c, 'base64')),
        x509Authorities: meta.x509Authorities.map((c) => Buffer.from(c, 'base64')),
        jwtAuthorities: meta.jwtAuthorities,
      };
    } catch {
      return undefined;
    }
  }

  /** Writes the state atomically (temporary file 0600, then rename). */
  save(state: AgentState): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const meta: StoredMeta = {
      trustDomainId: state.trustDomainId,
      trustDomain: state.trustDomain,
      spiffeId: state.spiffeId,
      chain: state.chain.map((c) => c.toString('base64')),
      x509Authorities: state.x509Authorities.map((c) => c.toString('base64')),
      jwtAuthorities: state.jwtAuthorities,
    };
    this.write(KEY_FILE, state.key.export({ type: 'pkcs8', format: 'pem' }).toString());
    this.write(STATE_FILE, JSON.stringify(meta));
  }

  private write(name: string, content: string): void {
    const target = join(this.dir, name);
    const temporary = `${target}.tmp`;
    writeFileSync(temporary, content, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, target);
  }
}

/** notBefore / notAfter of a DER certificate. */
export function validityOf(der: Buffer): { notBefore: Date; notAfter: Date } {
  const cert = new X509Certificate(der);
  return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}

/** DER certificates of a PEM bundle. */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const match of pem.matchAll(
    /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g,
  )) {
    out.push(Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64'));
  }
  return out;
}
