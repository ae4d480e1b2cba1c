/** Markers of private key material in text: PEM blocks, PKCS#8 DER (base64 or hex), JWK `d`. */
const PRIVATE_KEY_MARKERS: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'PEM private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { name: 'PKCS#8 EC P-256 (base64)', pattern: /MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH/ },
  { name: 'PKCS#8 EC P-384 (base64)', pattern: /MIG2AgEAMBAGByqGSM49AgEGBSuBBAAi/ },
  { name: 'PKCS#8 RSA (base64)', pattern: /IBADANBgkqhkiG9w0BAQEFAASC/ },
  { name: 'PKCS#8 EC (hex)', pattern: /020100301306072a8648ce3d0201/i },
  { name: 'SEC1 EC private key (base64)', pattern: /MHcCAQEEI/ },
  { name: 'JWK private member d', pattern: /"d"\s*:\s*"[A-Za-z0-9_-]{20,}"/ },
];

/** Names the private-key markers found in `text` (empty when there are none). */
export function findPrivateKeyMaterial(text: string): string[] {
  return PRIVATE_KEY_MARKERS.filter((m) => m.pattern.test(text)).map((m) => m.name);
}
