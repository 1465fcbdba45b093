import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Staff passwords: scrypt (memory-hard; RFC 7914) with a 16-byte random salt, kept with its
 * parameters so that they can be raised later without invalidating older hashes:
 * `scrypt$N$r$p$salt$hash` (base64url). N = 2^15, r = 8, p = 3 is one of the settings OWASP's
 * Password Storage Cheat Sheet lists as its minimum for scrypt (equal in cost to N = 2^17, p = 1)
 * while taking 32 MiB per hash instead of 128.
 */
const N = 2 ** 15;
const R = 8;
const P = 3;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 2 ** 20) return false;
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  const key = await derive(password, Buffer.from(parts[4] ?? '', 'base64url'), n, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of nothing anyone knows: checked against when the email is unknown, so that the answer takes as long. */
export const DUMMY_PASSWORD_HASH = 'scrypt$32768$8$3$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** Why a new password is refused, or null. At least 12 characters; not only one repeated character. */
export function passwordProblem(password: string): string | null {
  // Characters as people count them (code points), not UTF-16 units.
  const length = Array.from(password).length;
  if (length < 12) return 'a password needs at least 12 characters';
  if (length > 200) return 'a password can have at most 200 characters';
  if (/^(.)\1*$/u.test(password)) return 'a password cannot be one character repeated';
  return null;
}

/** A one-time password people can type: 20 characters from an alphabet without look-alikes. */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(40);
  let out = '';
  // Rejection sampling keeps every character equally likely (56 does not divide 256).
  for (const b of bytes) {
    if (b >= 224) continue;
    out += alphabet.charAt(b % 56);
    if (out.length === 20) break;
  }
  return out.length === 20 ? out : generatePassword();
}
