// Placeholder: replaced by the private-containerd harness.
export function setup(): void {}
