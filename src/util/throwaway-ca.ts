import { constants, generateKeyPairSync, type KeyObject, privateEncrypt } from "node:crypto";
import forge from "node-forge";

/**
 * A certificate authority made for one run and thrown away with it, and a
 * server certificate it signed: what `server.tls: true` serves, and what
 * the tests use to make the certificates a user gets wrong (expired, for
 * another host, signed by nobody the client trusts).
 *
 * node-forge rather than a WebCrypto X.509 library: it needs no global
 * polyfill (reflect-metadata) and no other package. Keys and signatures
 * come from Node's native crypto (forge's own RSA in JavaScript takes
 * seconds): forge only writes the ASN.1.
 */
export interface ThrowawayCertificates {
  /** The CA's certificate (PEM): what a client trusts (`target.tls.ca`). */
  caPem: string;
  /** The server's certificate (PEM), signed by the CA. */
  certPem: string;
  /** The server's private key (PEM). Never printed, never in a result. */
  keyPem: string;
}

export interface CertificateOptions {
  /** Names the certificate is valid for (DNS names or IP addresses). Default: localhost and 127.0.0.1, ::1. */
  hosts?: readonly string[];
  /** Default: one hour ago. */
  notBefore?: Date;
  /** Default: a day after notBefore. */
  notAfter?: Date;
}

const DEFAULT_HOSTS = ["localhost", "127.0.0.1", "::1"];
const HOUR_MS = 3_600_000;

export function createThrowawayCertificates(
  options: CertificateOptions = {},
): ThrowawayCertificates {
  const notBefore = options.notBefore ?? new Date(Date.now() - HOUR_MS);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 25 * HOUR_MS);
  const caKeys = rsaKeyPair();
  const ca = certificate(caKeys.publicKey, "rtbench throwaway CA", notBefore, notAfter);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
  ]);
  ca.sign(caKeys.signer, forge.md.sha256.create());

  const serverKeys = rsaKeyPair();
  const hosts = options.hosts ?? DEFAULT_HOSTS;
  const server = certificate(serverKeys.publicKey, hosts[0] ?? "localhost", notBefore, notAfter);
  server.setIssuer(ca.subject.attributes);
  server.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      // type 2: a DNS name, type 7: an IP address (forge encodes the text form).
      altNames: hosts.map((host) =>
        isIp(host) ? { type: 7, ip: host } : { type: 2, value: host },
      ),
    },
  ]);
  server.sign(caKeys.signer, forge.md.sha256.create());
  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(server),
    keyPem: serverKeys.pem,
  };
}

let serial = 1;

/** DER of a SHA-256 DigestInfo up to the digest (RFC 8017, section 9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

interface KeyPair {
  publicKey: forge.pki.PublicKey;
  /** What forge's `sign` calls: PKCS#1 v1.5 over the digest, done natively. */
  signer: forge.pki.rsa.PrivateKey;
  pem: string;
}

function rsaKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return {
    publicKey: forge.pki.publicKeyFromPem(
      publicKey.export({ type: "spki", format: "pem" }).toString(),
    ),
    signer: nativeSigner(privateKey) as unknown as forge.pki.rsa.PrivateKey,
    pem,
  };
}

function nativeSigner(key: KeyObject): { sign(md: forge.md.MessageDigest): string } {
  return {
    sign(md) {
      const digest = Buffer.from(md.digest().getBytes(), "binary");
      const block = Buffer.concat([SHA256_DIGEST_INFO, digest]);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, block).toString(
        "binary",
      );
    },
  };
}

function certificate(
  publicKey: forge.pki.PublicKey,
  commonName: string,
  notBefore: Date,
  notAfter: Date,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Unique within a process, and random across runs: a client caching sessions never mixes two CAs.
  cert.serialNumber = `${(Date.now() * 1000 + serial++).toString(16)}`;
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: "commonName", value: commonName }]);
  return cert;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}
