/**
 * What the agent keeps across restarts, in its data directory (0700, files 0600): its private
 * key (PKCS#8 PEM), its X.509-SVID chain, and the last trust bundle it received. With a still
 * valid SVID on disk the agent resumes without attesting again.
 *
 * Only a directory holding neither file means "never attested". Anything else that cannot be
 * read back — an unreadable file, one of the two files missing, text that does not parse, a key
 * that does not match the SVID — is an {@link AgentStateError} naming the file: the agent must
 * not silently attest again (a new identity) over a state it could not read.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
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

/** The file of the agent's private key in the data directory. */
export const KEY_FILE = 'agent-key.pem';
/** The file of the agent's SVID chain and bundle in the data directory. */
export const STATE_FILE = 'agent-state.json';

/** Why a persisted state could not be used. */
export type AgentStateErrorCode = 'STATE_UNREADABLE' | 'STATE_INCOMPLETE' | 'STATE_CORRUPT' | 'STATE_WRITE_FAILED';

/** A persisted agent state that cannot be read back or written; names the file. */
export class AgentStateError extends Error {
  constructor(
    readonly code: AgentStateErrorCode,
    /** The file concerned. */
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgentStateError';
  }
}

/** Reads and writes {@link AgentState} in a directory. */
export class StateStore {
  constructor(private readonly dir: string) {}

  /**
   * The stored state, or undefined when the directory holds neither file (never attested).
   * @throws AgentStateError when a file is unreadable, missing beside the other, or corrupt.
   */
  load(): AgentState | undefined {
    const keyPath = join(this.dir, KEY_FILE);
    const statePath = join(this.dir, STATE_FILE);
    const [hasKey, hasState] = [existsSync(keyPath), existsSync(statePath)];
    if (!hasKey && !hasState) return undefined;
    if (!hasKey || !hasState) {
      const [present, absent] = hasKey ? [keyPath, statePath] : [statePath, keyPath];
      throw new AgentStateError('STATE_INCOMPLETE', absent, `${absent} is missing while ${present} exists`);
    }
    const stateText = readText(statePath);
    const keyText = readText(keyPath);
    let meta: StoredMeta;
    try {
      meta = parseMeta(stateText);
    } catch (cause) {
      throw new AgentStateError('STATE_CORRUPT', statePath, `${statePath} is corrupt: ${(cause as Error).message}`, { cause });
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(keyText);
    } catch (cause) {
      throw new AgentStateError('STATE_CORRUPT', keyPath, `${keyPath} holds no private key: ${(cause as Error).message}`, { cause });
    }
    const chain = meta.chain.map((c) => Buffer.from(c, 'base64'));
    try {
      const leafKey = new X509Certificate(chain[0] ?? Buffer.alloc(0)).publicKey;
      if (!leafKey.equals(createPublicKey(key))) throw new Error('the key does not match the SVID');
    } catch (cause) {
      throw new AgentStateError('STATE_CORRUPT', statePath, `${statePath} and ${keyPath} do not belong together: ${(cause as Error).message}`, { cause });
    }
    return {
      trustDomainId: meta.trustDomainId,
      trustDomain: meta.trustDomain,
      spiffeId: meta.spiffeId,
      key,
      chain,
      x509Authorities: meta.x509Authorities.map((c) => Buffer.from(c, 'base64')),
      jwtAuthorities: meta.jwtAuthorities,
    };
  }

  /**
   * Writes the state atomically (temporary file 0600, then rename).
   * @throws AgentStateError (STATE_WRITE_FAILED) naming the file that could not be written.
   */
  save(state: AgentState): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      chmodSync(this.dir, 0o700);
    } catch (cause) {
      throw new AgentStateError('STATE_WRITE_FAILED', this.dir, `cannot create ${this.dir}: ${(cause as Error).message}`, { cause });
    }
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
    try {
      writeFileSync(temporary, content, { mode: 0o600 });
      chmodSync(temporary, 0o600);
      renameSync(temporary, target);
    } catch (cause) {
      throw new AgentStateError('STATE_WRITE_FAILED', target, `cannot write ${target}: ${(cause as Error).message}`, { cause });
    }
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new AgentStateError('STATE_UNREADABLE', path, `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** The state file's JSON, with every field checked. */
function parseMeta(text: string): StoredMeta {
  const value = JSON.parse(text) as Partial<Record<keyof StoredMeta, unknown>> | null;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof value.trustDomainId !== 'string' ||
    typeof value.trustDomain !== 'string' ||
    typeof value.spiffeId !== 'string' ||
    !strings(value.chain) ||
    value.chain.length === 0 ||
    !strings(value.x509Authorities) ||
    !Array.isArray(value.jwtAuthorities)
  ) {
    throw new Error('fields missing or of the wrong type');
  }
  return value as StoredMeta;
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
