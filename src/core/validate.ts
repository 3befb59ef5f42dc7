/**
 * Small type guards for validating messages and files on arrival (host, engine and webview share them). In core, so
 * core's own validators (steering lab results) use them; the protocol imports them from here.
 */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A judge score 0–100, or null when the judge gave none. */
export const isScore = (v: unknown): v is number | null => v === null || (isFiniteNumber(v) && v >= 0 && v <= 100);
export const isIntIn = (v: unknown, lo: number, hi: number): v is number => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
