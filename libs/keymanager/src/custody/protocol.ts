/**
 * Messages of the key custody protocol (framing in frame.ts). Only public material flows from
 * the child to the parent: key infos (SPKI + fingerprint), signatures, health, error codes.
 *
 * Requests (parent → child)          Responses (child → parent), same id
 *   0x01 CREATE      keyId keyType     0x81 KEY_INFO   keyInfo
 *   0x02 LIST                          0x82 KEY_LIST   u32 n, n × keyInfo
 *   0x03 PUBLIC_KEY  keyId             0x81 KEY_INFO
 *   0x04 SIGN_MSG    keyId hash bytes  0x84 SIGNATURE  bytes
 *   0x05 SIGN_DIGEST keyId hash bytes  0x84 SIGNATURE
 *   0x06 RELEASE     keyId             0x86 OK
 *   0x07 RECONFIGURE str(config JSON)  0x86 OK
 *   0x08 HEALTH                        0x88 HEALTH     u8 ready, str code, str message, f64 since
 *                                      0xff ERROR      str code, str message
 * keyInfo = str keyId, u8 keyType, bytes spki, str fingerprint.
 * keyType: 1 ec-p256, 2 ec-p384, 3 rsa-2048. hash: 1 sha256, 2 sha384, 3 sha512.
 */
import { KeyManagerError, isKeyManagerErrorCode, type KeyManagerErrorCode } from '../errors.js';
import { parseKeyManagerConfig, type KeyManagerConfig } from '../config.js';
import { fingerprintOf } from '../keys.js';
import {
  isDigestRequest,
  type HashAlgorithm,
  type KeyInfo,
  type KeyManagerHealth,
  type KeyType,
  type SignRequest,
} from '../types.js';
import { FrameWriter, PayloadReader, type Frame } from './frame.js';

/** Request op codes. */
export const Op = Object.freeze({
  CREATE: 0x01,
  LIST: 0x02,
  PUBLIC_KEY: 0x03,
  SIGN_MESSAGE: 0x04,
  SIGN_DIGEST: 0x05,
  RELEASE: 0x06,
  RECONFIGURE: 0x07,
  HEALTH: 0x08,
  R_KEY_INFO: 0x81,
  R_KEY_LIST: 0x82,
  R_SIGNATURE: 0x84,
  R_OK: 0x86,
  R_HEALTH: 0x88,
  R_ERROR: 0xff,
});

/** A request from the parent. */
export type CustodyRequest =
  | { readonly op: 'create'; readonly keyId: string; readonly keyType: KeyType }
  | { readonly op: 'list' }
  | { readonly op: 'publicKey'; readonly keyId: string }
  | { readonly op: 'sign'; readonly keyId: string; readonly request: SignRequest }
  | { readonly op: 'release'; readonly keyId: string }
  | { readonly op: 'reconfigure'; readonly config: KeyManagerConfig }
  | { readonly op: 'health' };

/** A response from the child. */
export type CustodyResponse =
  | { readonly kind: 'keyInfo'; readonly info: KeyInfo }
  | { readonly kind: 'keyList'; readonly keys: readonly KeyInfo[] }
  | { readonly kind: 'signature'; readonly signature: Uint8Array }
  | { readonly kind: 'ok' }
  | { readonly kind: 'health'; readonly health: KeyManagerHealth }
  | { readonly kind: 'error'; readonly code: KeyManagerErrorCode; readonly message: string };

const KEY_TYPE_CODES: readonly KeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048'];
const HASH_CODES: readonly HashAlgorithm[] = ['sha256', 'sha384', 'sha512'];

function keyTypeCode(t: KeyType): number {
  const i = KEY_TYPE_CODES.indexOf(t);
  if (i < 0) throw new KeyManagerError('UNSUPPORTED_KEY_TYPE', `unsupported key type ${String(t)}`);
  return i + 1;
}

function keyTypeFromCode(c: number): KeyType {
  const t = KEY_TYPE_CODES[c - 1];
  if (t === undefined) throw new KeyManagerError('PROTOCOL_ERROR', `unknown key type code ${c}`);
  return t;
}

function hashCode(h: HashAlgorithm): number {
  const i = HASH_CODES.indexOf(h);
  if (i < 0)
    throw new KeyManagerError(
      'UNSUPPORTED_HASH_ALGORITHM',
      `unsupported hash algorithm ${String(h)}`,
    );
  return i + 1;
}

function hashFromCode(c: number): HashAlgorithm {
  const h = HASH_CODES[c - 1];
  if (h === undefined) throw new KeyManagerError('PROTOCOL_ERROR', `unknown hash code ${c}`);
  return h;
}

/** Encodes a request frame. */
export function encodeRequest(id: number, req: CustodyRequest): Buffer {
  switch (req.op) {
    case 'create':
      return new FrameWriter(Op.CREATE, id).str(req.keyId).u8(keyTypeCode(req.keyType)).finish();
    case 'list':
      return new FrameWriter(Op.LIST, id, 0).finish();
    case 'publicKey':
      return new FrameWriter(Op.PUBLIC_KEY, id).str(req.keyId).finish();
    case 'sign': {
      const r = req.request;
      const data = isDigestRequest(r) ? r.digest : r.message;
      return new FrameWriter(
        isDigestRequest(r) ? Op.SIGN_DIGEST : Op.SIGN_MESSAGE,
        id,
        req.keyId.length + data.length + 8,
      )
        .str(req.keyId)
        .u8(hashCode(r.hashAlgorithm))
        .bytes(data)
        .finish();
    }
    case 'release':
      return new FrameWriter(Op.RELEASE, id).str(req.keyId).finish();
    case 'reconfigure':
      return new FrameWriter(Op.RECONFIGURE, id, 256).str(JSON.stringify(req.config)).finish();
    case 'health':
      return new FrameWriter(Op.HEALTH, id, 0).finish();
    default: {
      const never: never = req;
      throw new KeyManagerError('INVALID_ARGUMENT', `unknown request ${JSON.stringify(never)}`);
    }
  }
}

/** Decodes a request frame; throws PROTOCOL_ERROR (or CONFIG_INVALID for reconfigure). */
export function decodeRequest(frame: Frame): CustodyRequest {
  const r = new PayloadReader(frame.payload);
  let req: CustodyRequest;
  switch (frame.op) {
    case Op.CREATE:
      req = { op: 'create', keyId: r.str(), keyType: keyTypeFromCode(r.u8()) };
      break;
    case Op.LIST:
      req = { op: 'list' };
      break;
    case Op.PUBLIC_KEY:
      req = { op: 'publicKey', keyId: r.str() };
      break;
    case Op.SIGN_MESSAGE: {
      const keyId = r.str();
      const hashAlgorithm = hashFromCode(r.u8());
      req = { op: 'sign', keyId, request: { message: r.bytes(), hashAlgorithm } };
      break;
    }
    case Op.SIGN_DIGEST: {
      const keyId = r.str();
      const hashAlgorithm = hashFromCode(r.u8());
      req = { op: 'sign', keyId, request: { digest: r.bytes(), hashAlgorithm } };
      break;
    }
    case Op.RELEASE:
      req = { op: 'release', keyId: r.str() };
      break;
    case Op.RECONFIGURE: {
      let json: unknown;
      try {
        json = JSON.parse(r.str());
      } catch (cause) {
        throw new KeyManagerError('PROTOCOL_ERROR', 'reconfigure payload is not JSON', { cause });
      }
      req = { op: 'reconfigure', config: parseKeyManagerConfig(json) };
      break;
    }
    case Op.HEALTH:
      req = { op: 'health' };
      break;
    default:
      throw new KeyManagerError('PROTOCOL_ERROR', `unknown request op 0x${frame.op.toString(16)}`);
  }
  r.end();
  return req;
}

function writeKeyInfo(w: FrameWriter, info: KeyInfo): void {
  w.str(info.keyId).u8(keyTypeCode(info.keyType)).bytes(info.publicKeyDer).str(info.fingerprint);
}

function readKeyInfo(r: PayloadReader): KeyInfo {
  const keyId = r.str();
  const keyType = keyTypeFromCode(r.u8());
  const publicKeyDer = r.bytes();
  const fingerprint = r.str();
  if (fingerprintOf(publicKeyDer) !== fingerprint) {
    throw new KeyManagerError(
      'FINGERPRINT_MISMATCH',
      `custody reported a fingerprint that does not match key ${keyId}`,
    );
  }
  return Object.freeze({ keyId, keyType, publicKeyDer, fingerprint });
}

/** Encodes a response frame. */
export function encodeResponse(id: number, res: CustodyResponse): Buffer {
  switch (res.kind) {
    case 'keyInfo': {
      const w = new FrameWriter(Op.R_KEY_INFO, id, 400);
      writeKeyInfo(w, res.info);
      return w.finish();
    }
    case 'keyList': {
      const w = new FrameWriter(Op.R_KEY_LIST, id, 400 * res.keys.length + 4).u32(res.keys.length);
      for (const info of res.keys) writeKeyInfo(w, info);
      return w.finish();
    }
    case 'signature':
      return new FrameWriter(Op.R_SIGNATURE, id, res.signature.length + 4)
        .bytes(res.signature)
        .finish();
    case 'ok':
      return new FrameWriter(Op.R_OK, id, 0).finish();
    case 'health':
      return new FrameWriter(Op.R_HEALTH, id)
        .u8(res.health.ready ? 1 : 0)
        .str(res.health.lastErrorCode ?? '')
        .str((res.health.lastErrorMessage ?? '').slice(0, 4096))
        .f64(res.health.since)
        .finish();
    case 'error':
      return new FrameWriter(Op.R_ERROR, id).str(res.code).str(res.message.slice(0, 4096)).finish();
    default: {
      const never: never = res;
      throw new KeyManagerError('INVALID_ARGUMENT', `unknown response ${JSON.stringify(never)}`);
    }
  }
}

/** Decodes a response frame; throws PROTOCOL_ERROR. */
export function decodeResponse(frame: Frame): CustodyResponse {
  const r = new PayloadReader(frame.payload);
  let res: CustodyResponse;
  switch (frame.op) {
    case Op.R_KEY_INFO:
      res = { kind: 'keyInfo', info: readKeyInfo(r) };
      break;
    case Op.R_KEY_LIST: {
      const n = r.u32();
      if (n > 100_000) throw new KeyManagerError('PROTOCOL_ERROR', `key list of ${n} entries`);
      const keys: KeyInfo[] = [];
      for (let i = 0; i < n; i++) keys.push(readKeyInfo(r));
      res = { kind: 'keyList', keys };
      break;
    }
    case Op.R_SIGNATURE:
      res = { kind: 'signature', signature: r.bytes() };
      break;
    case Op.R_OK:
      res = { kind: 'ok' };
      break;
    case Op.R_HEALTH: {
      const ready = r.u8() === 1;
      const code = r.str();
      const message = r.str();
      const since = r.f64();
      res = {
        kind: 'health',
        health: ready
          ? { ready, since }
          : { ready, lastErrorCode: code, lastErrorMessage: message, since },
      };
      break;
    }
    case Op.R_ERROR: {
      const code = r.str();
      const message = r.str();
      res = { kind: 'error', code: isKeyManagerErrorCode(code) ? code : 'INTERNAL', message };
      break;
    }
    default:
      throw new KeyManagerError('PROTOCOL_ERROR', `unknown response op 0x${frame.op.toString(16)}`);
  }
  r.end();
  return res;
}
