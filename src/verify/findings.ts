// What a layer check reports: failures (each names its check, so a person can tell what broke) and
// warnings (facts worth knowing that do not make the image unusable).

export type CheckName =
  | 'blob-present'
  | 'blob-size'
  | 'blob-digest'
  | 'decompress'
  | 'tar'
  | 'diffid'
  | 'uncompressed-label'
  | 'uncompressed-size'
  | 'annotation-families'
  | 'manifest-position'
  | 'manifest-checksum'
  | 'toc'
  | 'toc-size'
  | 'toc-digest'
  | 'footer'
  | 'tarsplit-position'
  | 'tar-split-digest'
  | 'tar-split'
  | 'toc-vs-tar-split'
  | 'rebuilt-diffid'
  | 'toc-entries'
  | 'file-digest'
  | 'chunk-digest'
  | 'chunk-offset'
  | 'stargz-verifier';

export interface Failure {
  check: CheckName;
  message: string;
}

export class Findings {
  readonly failures: Failure[] = [];
  readonly warnings: string[] = [];
  /** Failures per check are capped: one broken field in a million entries is one line, not a million. */
  private readonly perCheck = new Map<CheckName, number>();

  fail(check: CheckName, message: string): void {
    const n = (this.perCheck.get(check) ?? 0) + 1;
    this.perCheck.set(check, n);
    if (n <= 3) this.failures.push({ check, message });
    else if (n === 4) this.failures.push({ check, message: 'further failures of this check not shown' });
  }

  has(check: CheckName): boolean {
    return this.perCheck.has(check);
  }

  warn(message: string): void {
    this.warnings.push(message);
  }
}
