import type { Projection } from '@trustplane/eventstore';
import { registryModelProjection } from './model/registry.projection.js';
import { organizationProjection } from './organizations/organization.projection.js';
import { namesProjection } from './reconciler/names.projection.js';
import { deploymentKeysProjection } from './model/deployment-keys.projection.js';
import { federationsProjection } from './federation/federations.projection.js';

/** Every read model the registry maintains (all in the registry's schema). */
export const registryProjections: readonly Projection[] = [organizationProjection, registryModelProjection, namesProjection, deploymentKeysProjection, federationsProjection];
