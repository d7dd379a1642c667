/** Names for containers created without one, dockerd's "adjective_surname" way. */

/** A random "/adjective_surname" that `taken` says is free. */
export function freeName(taken: (name: string) => boolean): string {
  for (;;) {
    const name = `/${ADJECTIVES[randomIndex(ADJECTIVES.length)]}_${SURNAMES[randomIndex(SURNAMES.length)]}`;
    if (!taken(name)) return name;
  }
}

const randomIndex = (n: number) => Math.floor(Math.random() * n);
const ADJECTIVES = [
  'admiring',
  'brave',
  'clever',
  'dreamy',
  'eager',
  'focused',
  'gallant',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'modest',
  'nifty',
  'optimistic',
  'peaceful',
  'quirky',
  'relaxed',
  'serene',
  'tender',
  'upbeat',
  'vibrant',
  'wizardly',
  'youthful',
  'zealous',
];
const SURNAMES = [
  'agnesi',
  'babbage',
  'curie',
  'darwin',
  'euclid',
  'fermi',
  'galileo',
  'hopper',
  'johnson',
  'kepler',
  'lovelace',
  'meitner',
  'noether',
  'pascal',
  'ritchie',
  'shannon',
  'turing',
  'villani',
  'wozniak',
  'yalow',
];
