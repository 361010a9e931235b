// containerd's defaults the CLI shows in --help, apart from the client code: reading them must not load
// gRPC, which a run that never talks to containerd (layout to layout, registry to registry) does without.

export const DEFAULT_ADDRESS = '/run/containerd/containerd.sock';
export const DEFAULT_NAMESPACE = 'default';
/** How long any one answer from containerd (or a registry) may take by default: 60 s. */
export const DEFAULT_TIMEOUT_MS = 60_000;
