import { defineEntity, p } from '@mikro-orm/core';
import { Organisation } from './organisation';

export const PersonSchema = defineEntity({
  name: 'Person',
  tableName: 'person',
  properties: {
    id: p.integer().primary().autoincrement(),
    firstName: p.string().length(100),
    lastName: p.string().length(100),
    email: p.string().length(255),
    phone: p.string().length(50).nullable(),
    title: p.string().length(255).nullable(),
    // The database sets this to null when the organisation is deleted.
    organisation: () => p.manyToOne(Organisation).nullable().deleteRule('set null'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class Person extends PersonSchema.class {}
PersonSchema.setClass(Person);
