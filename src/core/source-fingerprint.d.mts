/** Types of source-fingerprint.mjs (plain JavaScript, for bin/secretd.mjs). */
export declare function sourceFingerprint(root: string): string;
export declare const FINGERPRINT_FILE: string;
