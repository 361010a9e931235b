// Public surface of the OCI-layout backend, for the CLI composition root and tests.
export { openOciLayout, OciLayoutBackend, type OpenOciLayoutOptions } from './backend.js';
export { REF_NAME_ANNOTATION } from './images.js';
export {
  formatTransportReference,
  isValidRefName,
  parseTransportReference,
  type LayoutTransport,
  type TransportReference,
} from './reference.js';
