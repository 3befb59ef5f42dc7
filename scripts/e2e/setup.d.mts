// Types of setup.mjs for the E2E tests (TypeScript).
export const CODE_SERVER_VERSION: string;
export const ROOT: string;
export const SETUP_TRAIT: string;
export const USER_SETTINGS: Record<string, unknown>;
export const paths: {
  base: string;
  codeServerDir: string;
  codeServerBin: string;
  codeServerMarker: string;
  extensionsDir: string;
  userDataDir: string;
  workspace: string;
  vectorCache: string;
  engineCache: string;
  screenshots: string;
  logs: string;
  organism: string;
};
export interface CodeServer {
  url: string;
  port: number;
  pid: number;
  logFile: string;
  workspaceUrl: string;
  stop(): Promise<void>;
}
export function ensureAptPackages(): void;
export function ensureRipgrepCache(): void;
export function ensureCodeServer(): void;
export function ensureExtension(options?: { packageVsix?: boolean }): string;
export function ensureSetupVector(): string;
export function prepareRun(vector?: string): void;
export function freePort(): Promise<number>;
export function startCodeServer(options?: { port?: number; timeoutMs?: number }): Promise<CodeServer>;
export function setup(options?: { packageVsix?: boolean }): string;
