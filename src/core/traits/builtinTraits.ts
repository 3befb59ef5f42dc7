/** The built-in trait library (our wording of the seven traits the paper studies), bundled into the engine. */
import type { TraitDefinition } from './trait';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { isTraitName, readTraitFile, validateTrait } from './traitFile';
import evil from './builtin/evil.json';
import sycophantic from './builtin/sycophantic.json';
import hallucinating from './builtin/hallucinating.json';
import optimistic from './builtin/optimistic.json';
import impolite from './builtin/impolite.json';
import apathetic from './builtin/apathetic.json';
import humorous from './builtin/humorous.json';

export const BUILTIN_TRAITS: readonly TraitDefinition[] = [evil, sycophantic, hallucinating, optimistic, impolite, apathetic, humorous].map((t) =>
  validateTrait(t, `built-in trait ${(t as { name?: string }).name}`),
);

export function builtinTrait(name: string): TraitDefinition | undefined {
  return BUILTIN_TRAITS.find((t) => t.name === name);
}

/**
 * A trait definition by name: `<folder>/<name>.json` in the given folders first (a workspace's .persona/traits,
 * a model's own traits/ as the organism has), then the built-in library.
 */
export function findTrait(name: string, folders: string[]): TraitDefinition | undefined {
  // The name comes from a vector file's metadata: never let it walk out of the folders.
  if (!isTraitName(name)) return undefined;
  for (const folder of folders) {
    const file = path.join(folder, `${name}.json`);
    if (existsSync(file)) return readTraitFile(file);
  }
  return builtinTrait(name);
}
