// Word lists for realistic-looking rows. French and international, accents included on purpose:
// search and sorting must cope with them.

export const FIRST_NAMES = [
  'Jean', 'Marie', 'Pierre', 'Sophie', 'Luc', 'Camille', 'Nicolas', 'Julie', 'Thomas', 'Claire',
  'Antoine', 'Élodie', 'François', 'Isabelle', 'Mathieu', 'Nathalie', 'Olivier', 'Céline', 'Laurent', 'Aurélie',
  'Hélène', 'Guillaume', 'Sandrine', 'Julien', 'Émilie', 'Sébastien', 'Anne', 'Philippe', 'Caroline', 'Vincent',
  'Léa', 'Hugo', 'Chloé', 'Louis', 'Manon', 'Arthur', 'Inès', 'Gabriel', 'Zoé', 'Raphaël',
  'James', 'Emma', 'Oliver', 'Charlotte', 'William', 'Amelia', 'Henry', 'Grace', 'Lukas', 'Anna',
  'Matteo', 'Giulia', 'Carlos', 'Lucía', 'Sven', 'Ingrid', 'Pieter', 'Sanne', 'Noah', 'Mia',
  'Yasmine', 'Karim', 'Fatima', 'Mehdi', 'Aïcha', 'Jérôme', 'Benoît', 'Agnès', 'Loïc', 'Maëlle',
] as const;

export const LAST_NAMES = [
  'Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau',
  'Simon', 'Laurent', 'Lefèvre', 'Michel', 'Garcia', 'David', 'Bertrand', 'Roux', 'Vincent', 'Fournier',
  'Morel', 'Girard', 'André', 'Mercier', 'Dupont', 'Lambert', 'Bonnet', 'François', 'Martinez', 'Legrand',
  'Garnier', 'Faure', 'Rousseau', 'Blanc', 'Guérin', 'Muller', 'Henry', 'Roussel', 'Nicolas', 'Perrin',
  'Morin', 'Mathieu', 'Clément', 'Gauthier', 'Dumont', 'Lopez', 'Fontaine', 'Chevalier', 'Robin', 'Masson',
  'Smith', 'Johnson', 'Brown', 'Taylor', 'Wilson', 'Davies', 'Evans', 'Schmidt', 'Schneider', 'Fischer',
  'Weber', 'Rossi', 'Russo', 'Bianchi', 'Fernández', 'González', 'Jansen', 'de Vries', 'Van den Berg', 'Andersson',
  "O'Brien", 'Nowak', 'Kowalski', 'Novák', 'Silva', 'Santos', 'Costa', 'Lefebvre-Dumas', 'Le Goff', 'Saint-Martin',
] as const;

export const TITLES = [
  'Directeur général', 'Directrice financière', 'Responsable conformité', 'Gérant de portefeuille', 'Analyste',
  'Chargé d\'affaires', 'Responsable commercial', 'Head of Distribution', 'Chief Investment Officer', 'Portfolio Manager',
  'Relationship Manager', 'Sales Director', 'Compliance Officer', 'Responsable des partenariats', 'Conseiller en gestion de patrimoine',
  'Associate', 'Managing Director', 'Office Manager', 'Responsable middle office', 'Head of Fund Selection',
] as const;

export const ORGANISATION_PREFIXES = [
  'Banque', 'Crédit', 'Groupe', 'Caisse', 'Compagnie', 'Société', 'Cabinet', 'Maison', 'Union', 'Fédération',
] as const;

export const ORGANISATION_ROOTS = [
  'Atlas', 'Horizon', 'Lumière', 'Aurore', 'Meridian', 'Boréal', 'Hermès', 'Orion', 'Vauban', 'Colbert',
  'Saint-Honoré', 'Rivoli', 'Alpine', 'Atlantique', 'Provence', 'Lyonnaise', 'Rhône', 'Loire', 'Seine', 'Garonne',
  'Étoile', 'Océan', 'Pyramide', 'Sequoia', 'Cèdre', 'Chêne', 'Argent', 'Azur', 'Opale', 'Saphir',
  'Northbridge', 'Blackwater', 'Greenfield', 'Silverlake', 'Redwood', 'Oakmont', 'Kingsley', 'Ashford', 'Whitmore', 'Harbour',
  'Nordic', 'Helvetia', 'Iberia', 'Baltic', 'Danube', 'Vesta', 'Minerva', 'Janus', 'Pallas', 'Aegis',
] as const;

export const ORGANISATION_SUFFIXES = [
  'Capital', 'Gestion', 'Partners', 'Asset Management', 'Patrimoine', 'Finance', 'Conseil', 'Invest', 'Investissements',
  'Private Bank', 'Wealth', 'Advisors', 'Family Office', 'Securities', 'Épargne', 'Assurances', 'Holding', 'Trust',
] as const;

export const LEGAL_FORMS = ['SA', 'SAS', 'SARL', 'SCA', 'Ltd', 'LLP', 'GmbH', 'AG', 'LLC', 'S.p.A.', 'BV', 'AB'] as const;

/** Rare names with LIKE wildcards, so search escaping is exercised by realistic data. */
export const WILDCARD_NAMES = ['100% Patrimoine', 'Rendement_Plus', 'Taux 5% Conseil', 'Alpha_Beta Gestion', '50/50 % Invest'] as const;

/** ISO 3166-1 alpha-2 codes with rough weights: a French CRM mostly sees French and neighbouring clients. */
export const COUNTRIES = ['FR', 'LU', 'BE', 'CH', 'DE', 'GB', 'IT', 'ES', 'NL', 'IE', 'MC', 'US', 'SE', 'AT', 'PT', 'CA', 'SG', 'JP'] as const;
export const COUNTRY_WEIGHTS = [50, 10, 7, 7, 5, 5, 3, 3, 2, 2, 1, 2, 0.5, 0.5, 0.5, 0.5, 0.3, 0.2] as const;

export const PHONE_PREFIXES: Readonly<Record<string, string>> = {
  FR: '+33', LU: '+352', BE: '+32', CH: '+41', DE: '+49', GB: '+44', IT: '+39', ES: '+34', NL: '+31', IE: '+353',
  MC: '+377', US: '+1', SE: '+46', AT: '+43', PT: '+351', CA: '+1', SG: '+65', JP: '+81',
};

export const INTERACTION_SUBJECTS = [
  'Point trimestriel', 'Présentation de la gamme', 'Suivi du mandat', 'Revue de portefeuille', 'Demande de documentation',
  'Due diligence', 'Relance contrat', 'Rendez-vous annuel', 'Webinaire marchés', 'Question sur les frais',
  'Quarterly review', 'Fund presentation', 'Follow-up call', 'Onboarding', 'KYC update',
  'Renouvellement du mandat', 'Invitation conférence', 'Reporting ESG', 'Appel d\'offres', 'Déjeuner client',
] as const;

export const INTERACTION_NOTES = [
  'Client satisfait de la performance, souhaite augmenter son allocation.',
  'Envoyer la documentation réglementaire avant la fin du mois.',
  'Intéressé par les fonds obligataires courts.',
  'A demandé une comparaison des frais avec la concurrence.',
  'Rappeler après le comité d\'investissement.',
  'Discussed rebalancing towards ESG strategies.',
  'Needs the updated KID before next meeting.',
  'Pas de besoin immédiat ; relancer au prochain trimestre.',
  'Nouveau contact suite au départ du précédent interlocuteur.',
  'Souhaite un reporting mensuel plutôt que trimestriel.',
] as const;

export const PRODUIT_ADJECTIVES = ['Euro', 'Global', 'Europe', 'Monde', 'Patrimoine', 'Sélection', 'Avenir', 'Horizon', 'Croissance', 'Rendement'] as const;
export const PRODUIT_CLASSES = [
  ['Actions', 'equity'], ['Obligations', 'bond'], ['Monétaire', 'money-market'], ['Flexible', 'multi-asset'],
  ['Immobilier', 'real-estate'], ['Private Equity', 'private-equity'], ['Small Caps', 'equity'], ['Crédit', 'bond'],
] as const;
export const PRODUIT_SHARE_CLASSES = ['A', 'C', 'D', 'I', 'R', 'IC', 'RC'] as const;
