import { defineEntity, p } from '@mikro-orm/core';
import type { MandatStatus, MandatType } from './enums';
import { Organisation } from './organisation';

export const MandatSchema = defineEntity({
  name: 'Mandat',
  tableName: 'mandat',
  properties: {
    id: p.integer().primary().autoincrement(),
    // The database deletes a mandat with its organisation.
    organisation: () => p.manyToOne(Organisation).deleteRule('cascade'),
    type: p.string().$type<MandatType>(),
    status: p.string().$type<MandatStatus>(),
    startDate: p.date(),
    endDate: p.date().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class Mandat extends MandatSchema.class {}
MandatSchema.setClass(Mandat);
