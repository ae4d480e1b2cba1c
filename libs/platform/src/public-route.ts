import { SetMetadata } from '@nestjs/common';

/** Metadata key marking a route that needs no authentication (health, metrics, public docs). */
export const PUBLIC_ROUTE = 'trustplane:public-route';

/** Marks a controller or handler as public. Every other route must declare a scope. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
