export { seedDatabase, seedDemo, DEMO_SIZES, InvalidSeedOptionsError, type SeedOptions, type SeedCounts } from './seed';
export { createRng, mixSeed, type Rng } from './random';
