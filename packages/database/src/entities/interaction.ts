import { defineEntity, p } from '@mikro-orm/core';
import type { InteractionType } from './enums';
import { Organisation } from './organisation';
import { Person } from './person';

export const InteractionSchema = defineEntity({
  name: 'Interaction',
  tableName: 'interaction',
  properties: {
    id: p.integer().primary().autoincrement(),
    person: () => p.manyToOne(Person).deleteRule('cascade'),
    organisation: () => p.manyToOne(Organisation).nullable().deleteRule('set null'),
    type: p.string().$type<InteractionType>(),
    subject: p.string().length(255),
    notes: p.text().nullable(),
    occurredAt: p.datetime(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class Interaction extends InteractionSchema.class {}
InteractionSchema.setClass(Interaction);
