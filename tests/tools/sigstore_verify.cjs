#!/usr/bin/env node
// Verifies a Sigstore bundle with sigstore-js (@sigstore/verify, the reference JavaScript
// implementation) against a public key, with no transparency log, CT log or timestamp
// authority: strata signs with a key and offline (docs/signing.md "Sigstore bundles").
//
//   node tests/tools/sigstore_verify.cjs BUNDLE PUBLIC_KEY.pem
//
// The key is offered under its strata key id (sha256 of the DER SubjectPublicKeyInfo), so
// the bundle's publicKey.hint must name it. Exit 0 verified, 1 not (the reason on stderr),
// 2 usage. The modules are found in tests/node_modules (installed by .ci/install-deps).
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

function main(argv) {
  if (argv.length !== 2) {
    process.stderr.write('usage: sigstore_verify.cjs BUNDLE PUBLIC_KEY.pem\n');
    return 2;
  }
  const [bundlePath, keyPath] = argv;
  const der = crypto
    .createPublicKey(fs.readFileSync(keyPath, 'utf8'))
    .export({ type: 'spki', format: 'der' });
  const keyid = crypto.createHash('sha256').update(der).digest('hex');
  try {
    const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
    // An empty trusted root: no Fulcio CA, no Rekor or CT log, no TSA; only the key.
    const root = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
    const trust = toTrustMaterial(root, { [keyid]: { rawBytes: der } });
    const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0 });
    verifier.verify(toSignedEntity(bundle));
  } catch (e) {
    process.stderr.write(`sigstore-js: not verified: ${e.code ? e.code + ': ' : ''}${e.message}\n`);
    return 1;
  }
  process.stdout.write(`sigstore-js: verified (${keyid})\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
