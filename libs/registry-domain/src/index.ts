export {
  ORGANIZATION,
  ORGANIZATION_NAME_MAX,
  organizationDecider,
  validateOrganizationName,
  type OrganizationCommand,
  type OrganizationState,
} from './organization.js';
