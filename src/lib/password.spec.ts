import { DUMMY_PASSWORD_HASH, generatePassword, hashPassword, passwordProblem, verifyPassword } from './password';

describe('staff passwords', () => {
  it('hashes with scrypt and a fresh salt, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery staple', a)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', a)).toBe(false);
    expect(await verifyPassword('anything', DUMMY_PASSWORD_HASH)).toBe(false);
    expect(await verifyPassword('anything', 'md5$abc')).toBe(false);
    expect(await verifyPassword('anything', 'scrypt$99999999$8$3$AA$AA')).toBe(false);
  });

  it('treats the same text in another Unicode normal form as the same password', async () => {
    const h = await hashPassword('caf\u00e9 au lait please');
    expect(await verifyPassword('cafe\u0301 au lait please', h)).toBe(true);
  });

  it('refuses short and one-character passwords, counting characters as people do', () => {
    expect(passwordProblem('short')).toBe('a password needs at least 12 characters');
    expect(passwordProblem('aaaaaaaaaaaaaaaa')).toBe('a password cannot be one character repeated');
    expect(passwordProblem('😀😀😀😀😀😀😀😀😀😀😀')).toBe('a password needs at least 12 characters');
    expect(passwordProblem('twelve chars')).toBeNull();
  });

  it('generates 20 characters without look-alikes, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{20}$/);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });
});
