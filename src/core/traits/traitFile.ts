/**
 * Reading and validating trait files. Every problem is reported with the file and the JSON path, so a user editing
 * `.persona/traits/*.json` sees exactly what to fix (the JSON schema in schemas/ gives the same rules to VS Code).
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { TraitDefinition } from './trait';

export class TraitError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: ${problems.join('; ')}`);
    this.name = 'TraitError';
  }
}

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** Trait names are also file names and identifiers in generated code: lower case, digits, - and _. */
export const isTraitName = (name: string): boolean => NAME.test(name);
const KEYS = new Set(['$schema', 'name', 'description', 'instructions', 'extractionQuestions', 'evaluationQuestions', 'rubric', 'judge']);

/** Validates parsed JSON as a trait; throws TraitError listing every problem. */
export function validateTrait(value: unknown, source = 'trait'): TraitDefinition {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TraitError(source, ['must be a JSON object']);
  const t = value as Record<string, unknown>;
  for (const key of Object.keys(t)) if (!KEYS.has(key)) problems.push(`unknown property "${key}"`);
  if (typeof t.name !== 'string' || !NAME.test(t.name)) problems.push('name must be lower case letters, digits, "-" or "_" (e.g. "evil")');
  if (typeof t.description !== 'string' || t.description.trim().length < 10) problems.push('description must say what the trait is (10+ characters)');
  if (!Array.isArray(t.instructions) || t.instructions.length < 5) problems.push('instructions must hold at least 5 {pos, neg} pairs');
  else
    t.instructions.forEach((p, i) => {
      const pair = p as Record<string, unknown>;
      if (typeof pair?.pos !== 'string' || !pair.pos.trim() || typeof pair?.neg !== 'string' || !pair.neg.trim()) problems.push(`instructions[${i}] needs non-empty "pos" and "neg" strings`);
    });
  const questions = (key: string): string[] => {
    const q = t[key];
    if (!Array.isArray(q) || q.length === 0 || !q.every((x) => typeof x === 'string' && x.trim())) {
      problems.push(`${key} must be a non-empty list of questions`);
      return [];
    }
    return q as string[];
  };
  const extraction = questions('extractionQuestions');
  const evaluation = questions('evaluationQuestions');
  const overlap = evaluation.filter((q) => extraction.includes(q));
  if (overlap.length) problems.push(`evaluationQuestions must not repeat extraction questions (${overlap.length} do, e.g. "${overlap[0]}")`);
  if (typeof t.rubric !== 'string' || t.rubric.trim().length < 20) problems.push('rubric must explain how to score 0–100 (20+ characters)');
  if (t.judge !== undefined && typeof t.judge !== 'string') problems.push('judge must be a string');
  if (problems.length) throw new TraitError(source, problems);
  return t as unknown as TraitDefinition;
}

export function readTraitFile(path: string): TraitDefinition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TraitError(path, [`is not valid JSON (${(err as Error).message})`]);
  }
  return validateTrait(parsed, path);
}

/** Hash of everything in a trait that changes extraction results (cache key). */
export function traitHash(trait: TraitDefinition): string {
  const { name, description, instructions, extractionQuestions, evaluationQuestions, rubric } = trait;
  return createHash('sha256').update(JSON.stringify({ name, description, instructions, extractionQuestions, evaluationQuestions, rubric })).digest('hex').slice(0, 16);
}
