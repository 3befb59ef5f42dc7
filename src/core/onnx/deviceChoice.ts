/**
 * The device names a user can choose (`--device`, `personaLens.engine.device`, engine params) and their check.
 * Pure, so the protocol and settings code can validate a choice without loading `devices.ts` (child processes,
 * onnxruntime).
 */
export const DEVICE_CHOICES = ['auto', 'cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;
export type DeviceChoice = (typeof DEVICE_CHOICES)[number];
export type Device = Exclude<DeviceChoice, 'auto'>;

export function isDeviceChoice(value: unknown): value is DeviceChoice {
  return typeof value === 'string' && (DEVICE_CHOICES as readonly string[]).includes(value);
}
