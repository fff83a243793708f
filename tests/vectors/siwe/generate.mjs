// Generates tests/vectors/siwe/vectors.json with the independent `siwe` npm package and ethers.
// Run once (npm ci && node generate.mjs > vectors.json); the output is committed so the Python
// tests check our parser, builder and verifier against another implementation.
// The keys are test-only, derived from public strings: they guard nothing.
import { SiweMessage } from "siwe";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";

const wallets = ["datadao-test-key-1", "datadao-test-key-2"].map(
  (seed) => new Wallet(keccak256(toUtf8Bytes(seed)))
);

const cases = [
  { name: "minimal", fields: {} },
  { name: "statement", fields: { statement: "Sign in to datadao to contribute." } },
  {
    name: "everything",
    fields: {
      scheme: "https",
      statement: "I accept the datadao Terms of Service: https://example.org/tos",
      expirationTime: "2030-01-01T00:00:00.000Z",
      notBefore: "2020-01-01T00:00:00Z",
      requestId: "req-42",
      resources: ["ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/", "https://example.org/my-web2-claim.json"],
    },
  },
  { name: "port-and-chain", fields: { domain: "localhost:8000", uri: "http://localhost:8000", chainId: 11155111 } },
  { name: "second-key", wallet: 1, fields: { statement: "Another signer." } },
];

const vectors = [];
for (const c of cases) {
  const wallet = wallets[c.wallet ?? 0];
  const message = new SiweMessage({
    domain: "example.org",
    address: wallet.address,
    uri: "https://example.org/login",
    version: "1",
    chainId: 1,
    nonce: "32891757abcdef12",
    issuedAt: "2026-11-28T12:00:00.000Z",
    ...c.fields,
  });
  const text = message.prepareMessage();
  const parsed = new SiweMessage(text); // the npm parser's view of the same text
  vectors.push({
    name: c.name,
    message: text,
    signature: await wallet.signMessage(text),
    fields: {
      scheme: parsed.scheme ?? null,
      domain: parsed.domain,
      address: parsed.address,
      statement: parsed.statement ?? null,
      uri: parsed.uri,
      version: parsed.version,
      chainId: Number(parsed.chainId),
      nonce: parsed.nonce,
      issuedAt: parsed.issuedAt,
      expirationTime: parsed.expirationTime ?? null,
      notBefore: parsed.notBefore ?? null,
      requestId: parsed.requestId ?? null,
      resources: parsed.resources ?? [],
    },
  });
}

// Texts the npm parser refuses: ours must refuse them too.
const base = vectors[1].message;
const invalid = {
  "lowercase-address": base.replace(vectors[1].fields.address, vectors[1].fields.address.toLowerCase()),
  "short-nonce": base.replace("Nonce: 32891757abcdef12", "Nonce: 1234"),
  "bad-issued-at": base.replace("2026-11-28T12:00:00.000Z", "yesterday"),
  "missing-version": base.replace("Version: 1\n", ""),
  "statement-with-newline": base.replace("Sign in to datadao", "Sign in\nto datadao"),
  "crlf": base.replaceAll("\n", "\r\n"),
};
const refused = [];
for (const [name, text] of Object.entries(invalid)) {
  try {
    new SiweMessage(text);
    refused.push({ name, message: text, npmRefused: false });
  } catch (e) {
    refused.push({ name, message: text, npmRefused: true });
  }
}

console.log(JSON.stringify({ generator: "siwe@3.0.0 + ethers@6.17.0", vectors, invalid: refused }, null, 2));
