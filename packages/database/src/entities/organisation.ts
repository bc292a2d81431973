import { defineEntity, p } from '@mikro-orm/core';
import type { OrganisationCategory } from './enums';
import { Mandat } from './mandat';
import { Person } from './person';

export const OrganisationSchema = defineEntity({
  name: 'Organisation',
  tableName: 'organisation',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(255),
    category: p.string().$type<OrganisationCategory>(),
    isActive: p.boolean().default(true),
    email: p.string().length(255).nullable(),
    website: p.string().length(255).nullable(),
    country: p.string().length(2).nullable(),
    annualRevenue: p.decimal('number').precision(18).scale(2).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    mandats: () => p.oneToMany(Mandat).mappedBy('organisation'),
    contacts: () => p.oneToMany(Person).mappedBy('organisation'),
  },
});

export class Organisation extends OrganisationSchema.class {}
OrganisationSchema.setClass(Organisation);
