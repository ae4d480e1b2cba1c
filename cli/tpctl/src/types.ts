// The REST resources tpctl reads. Their shapes are generated from the registry's OpenAPI document
// (api-types.generated.ts, from the registry's TypeBox schemas): nothing here is copied by hand.
// What is tpctl's own, or not (yet) in the registry's schemas, is declared below.
import type * as api from './api-types.generated.js';

export type TrustDomainEndpoints = api.TrustDomain['endpoints'];
export type TrustDomain = api.TrustDomain;
export type Cluster = api.Cluster;
export type CreatedCluster = api.NewCluster;
export type ClusterKey = NonNullable<api.NewCluster['clusterKey']>;
export type CreatedJoinToken = api.NewJoinToken;
export type Agent = api.Agent;
export type Entry = api.Entry;
export type CreatedToken = api.NewToken;
export type Token = api.Token;
export type Whoami = api.Whoami;
export type ClusterConfigVersion = api.ClusterConfigVersion;
export type Keyset = api.Keyset;
export type KeysetCommandResult = api.KeysetCommandResult;
export type ConfigSection = api.ConfigSection;
export type ConfigSectionResult = api.ConfigSectionResult;

/** A deployment, with its `Configuration State` and `Last Configured` (self-hosted: from its reports). */
export type Deployment = api.Deployment;

/** An organization as the host-local bootstrap returns it. */
export interface Organization {
  /** `t-…` */
  id: string;
  /** Organization name. */
  name: string;
}

/** A page of a keyset-paginated list. */
export interface Page<T> {
  /** The items of this page. */
  items: T[];
  /** Cursor for the next page, or null at the end. */
  nextCursor: string | null;
}
