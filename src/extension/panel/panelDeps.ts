/** What the panel's controllers need from the host, as narrow types so tests pass an EngineClient or fakes. */
import type { EngineClient } from '../../engine/client';
import type { ModelRef } from '../../protocol/engineProtocol';
import type { HostToPanel } from '../../protocol/panelProtocol';

/** EngineHost in the extension; an EngineClient in tests (same request signature). */
export type EngineRequester = Pick<EngineClient, 'request'>;

export type PostToPanel = (message: HostToPanel) => void;

/** The model the user selected (or the bundled organism), with its graph cache and a short label. */
export type SelectedModel = ModelRef & { label: string };
