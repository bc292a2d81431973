export * from './enums';
export { Organisation, OrganisationSchema } from './organisation';
export { Person, PersonSchema } from './person';
export { Mandat, MandatSchema } from './mandat';
export { Interaction, InteractionSchema } from './interaction';
export { Produit, ProduitSchema } from './produit';

import { OrganisationSchema } from './organisation';
import { PersonSchema } from './person';
import { MandatSchema } from './mandat';
import { InteractionSchema } from './interaction';
import { ProduitSchema } from './produit';

/** Every entity the ORM must discover. */
export const ALL_ENTITIES = [OrganisationSchema, PersonSchema, MandatSchema, InteractionSchema, ProduitSchema];
