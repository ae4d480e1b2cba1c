/**
 * SPIFFE trust bundle documents (SPIFFE Trust Domain and Bundle spec): a JWK set whose
 * `x509-svid` keys each carry the DER of one X.509 authority in `x5c`, and whose `jwt-svid`
 * keys are JWT authorities.
 */

/** The members of a bundle document this module reads. */
export interface SpiffeBundleDocument {
  readonly keys?: readonly { readonly use?: string; readonly x5c?: readonly string[] }[];
}

/** One PEM CERTIFICATE block of base64 DER, in 64-column lines. */
function certificateBlock(base64Der: string): string {
  const body = base64Der.match(/.{1,64}/g)?.join('\n') ?? '';
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** DER certificates as concatenated PEM CERTIFICATE blocks. */
export function certificatesPem(ders: readonly Uint8Array[]): string {
  return ders.map((der) => certificateBlock(Buffer.from(der).toString('base64'))).join('');
}

/** The X.509 authorities of a bundle as PEM, one CERTIFICATE block per `x509-svid` key, 64-column lines. */
export function bundleX509AuthoritiesPem(document: SpiffeBundleDocument): string {
  const blocks: string[] = [];
  for (const key of document.keys ?? []) {
    const der = key.use === 'x509-svid' ? key.x5c?.[0] : undefined;
    if (der !== undefined) blocks.push(certificateBlock(der));
  }
  return blocks.join('');
}
