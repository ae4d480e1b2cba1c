/**
 * Node attestation and the agent's own SVID: the first attestation (join token or cluster-key
 * assertion, the signer verified against the configured bundle), the decision whether a persisted
 * identity can be resumed, and renewals of the agent SVID with a new key.
 */
import { createPrivateKey, randomBytes, sign as edSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { buildCsr, keyObjectSigner, spkiOf } from '@trustplane/crypto';
import type { agentApi } from '@trustplane/proto';
import {
  agentApiClient,
  CALL_DEADLINE_MS,
  newKey,
  serverIdentityCheck,
  unaryCall,
  type SignerAddress,
} from './signer-connection.js';
import { pemCertificates, validityOf, type AgentState } from './state-store.js';

/** How the agent proves itself on its first attestation. */
export interface AttestationSettings extends SignerAddress {
  /** Node name inside the cluster. */
  readonly nodeName: string;
  /** Join token for the first attestation. */
  readonly joinToken?: string;
  /** Cluster ID and Ed25519 private key for cluster-key attestation. */
  readonly clusterKey?: { readonly clusterId: string; readonly privateKey: KeyObject };
  /** CA certificates (PEM) to verify the signer with before attestation; insecure bootstrap when absent. */
  readonly bootstrapBundlePem?: string;
}

/** A persisted identity is resumed only while its SVID has at least this long to live. */
const RESUME_MARGIN_MS = 30_000;

/** Whether `restored` is this trust domain's identity with an SVID that is still valid. */
export function resumable(restored: AgentState, trustDomainId: string, now: number): boolean {
  const leaf = restored.chain[0];
  return (
    restored.trustDomainId === trustDomainId &&
    leaf !== undefined &&
    validityOf(leaf).notAfter.getTime() > now + RESUME_MARGIN_MS
  );
}

/** The attestation request for a new key: join token or a signed cluster-key statement. */
async function attestationRequest(
  settings: AttestationSettings,
  key: { publicKey: KeyObject; privateKey: KeyObject },
  now: number,
): Promise<agentApi.AttestAgentRequest> {
  const publicKey = spkiOf(key.publicKey);
  const csr = await buildCsr({ publicKey }, keyObjectSigner(key.privateKey));
  const request: agentApi.AttestAgentRequest = {
    trustDomainId: settings.trustDomainId,
    nodeName: settings.nodeName,
    publicKey,
    csr,
  };
  if (settings.clusterKey !== undefined) {
    const statement = Buffer.from(
      JSON.stringify({
        trustDomainId: settings.trustDomainId,
        clusterId: settings.clusterKey.clusterId,
        nodeName: settings.nodeName,
        iat: Math.floor(now / 1000),
        nonce: randomBytes(16).toString('hex'),
      }),
      'utf8',
    );
    request.clusterKey = { statement, signature: edSign(null, statement, settings.clusterKey.privateKey) };
  } else if (settings.joinToken !== undefined) {
    request.joinToken = settings.joinToken;
  } else {
    throw Object.assign(new Error('no join token or cluster key configured'), {
      code: status.INVALID_ARGUMENT,
    });
  }
  return request;
}

/**
 * Attests the node with a new key. The signer is verified against the bootstrap bundle (or, for
 * an insecure bootstrap, not at all: the bundle received is pinned from then on). Rejects with
 * the signer's gRPC error, or PERMISSION_DENIED when it answers for another trust domain.
 */
export async function attestNode(settings: AttestationSettings, now: number): Promise<AgentState> {
  const key = await newKey();
  const request = await attestationRequest(settings, key, now);
  const rootPem = settings.bootstrapBundlePem;
  const client = agentApiClient(
    settings,
    rootPem === undefined
      ? credentials.createSsl(null, null, null, {
          rejectUnauthorized: false,
          checkServerIdentity: () => undefined,
        })
      : credentials.createSsl(Buffer.from(rootPem), null, null, {
          checkServerIdentity: serverIdentityCheck(settings.trustDomain),
        }),
  );
  try {
    const response = await unaryCall<agentApi.AttestAgentResponse>((cb) =>
      client.attestAgent(request, new Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS * 2 }, cb),
    );
    if (response.trustDomain !== settings.trustDomain) {
      throw Object.assign(new Error(`the signer answered for trust domain ${response.trustDomain}`), {
        code: status.PERMISSION_DENIED,
      });
    }
    return {
      trustDomainId: settings.trustDomainId,
      trustDomain: response.trustDomain,
      spiffeId: response.spiffeId,
      key: key.privateKey,
      chain: response.svidChain,
      x509Authorities: response.bundle,
      jwtAuthorities: [],
    };
  } finally {
    client.close();
  }
}

/** A renewed agent SVID and the new key it certifies. */
export interface RenewedAgentSvid {
  readonly key: KeyObject;
  readonly chain: readonly Buffer[];
}

/** Renews the agent SVID over an authenticated session, with a key generated now. */
export async function renewAgentSvid(client: agentApi.AgentAPIClient): Promise<RenewedAgentSvid> {
  const key = await newKey();
  const csr = await buildCsr({ publicKey: spkiOf(key.publicKey) }, keyObjectSigner(key.privateKey));
  const response = await unaryCall<agentApi.RenewAgentSvidResponse>((cb) =>
    client.renewAgentSvid({ csr }, new Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS }, cb),
  );
  return { key: key.privateKey, chain: response.svidChain };
}

/** Whether the agent SVID has reached half of its lifetime (time to renew). */
export function pastHalfLife(leaf: Buffer, now: number): boolean {
  const { notBefore, notAfter } = validityOf(leaf);
  return now >= notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) / 2;
}

/** Reads the cluster's Ed25519 private key: PKCS#8 PEM, or base64 of PKCS#8 DER. */
export function readClusterKey(path: string): KeyObject {
  const text = readFileSync(path, 'utf8').trim();
  const key = text.startsWith('-----BEGIN')
    ? createPrivateKey(text)
    : createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the cluster key must be Ed25519');
  return key;
}

/** Reads a PEM bundle file and checks it holds certificates. */
export function readBundlePem(path: string): string {
  const pem = readFileSync(path, 'utf8');
  if (pemCertificates(pem).length === 0) throw new Error(`${path} holds no certificates`);
  return pem;
}
