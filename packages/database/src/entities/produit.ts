import { defineEntity, p } from '@mikro-orm/core';

export const ProduitSchema = defineEntity({
  name: 'Produit',
  tableName: 'produit',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(255),
    isin: p.string().length(12).nullable(),
    category: p.string().length(50),
    isActive: p.boolean().default(true),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class Produit extends ProduitSchema.class {}
ProduitSchema.setClass(Produit);
