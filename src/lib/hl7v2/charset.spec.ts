import { charsetOfMsh18, decodeHl7Bytes, readMsh18 } from './charset';

const msh = (msh18: string, sep = '|', eol = '\r'): string =>
  `MSH${sep}^~\\&${sep}APP${sep}FAC${sep}RCV${sep}RF${sep}20240105${sep}${sep}ADT^A01${sep}C1${sep}P${sep}2.5.1${sep.repeat(6)}${msh18}${eol}PID${sep}1${eol}`;

describe('readMsh18', () => {
  it('reads MSH-18, its first component only, with any field and component separators', () => {
    expect(readMsh18(Buffer.from(msh('UNICODE UTF-8')))).toBe('UNICODE UTF-8');
    expect(readMsh18(Buffer.from(msh('8859/1^ISO IR100')))).toBe('8859/1');
    expect(readMsh18(Buffer.from(msh('8859/1~UNICODE UTF-8')))).toBe('8859/1~UNICODE UTF-8');
    expect(readMsh18(Buffer.from(msh('WINDOWS-1252', '#', '\n')))).toBe('WINDOWS-1252');
    expect(readMsh18(Buffer.from(`\r\n${msh('ASCII')}`))).toBe('ASCII');
  });

  it('is empty when there is no MSH, MSH-18 is absent, or it is on a later line', () => {
    expect(readMsh18(Buffer.from('PID|1|'))).toBe('');
    expect(readMsh18(Buffer.from('MSH'))).toBe('');
    expect(readMsh18(Buffer.from('MSH|^~\\&|A|B|C|D|20240105||ADT^A01|1|P|2.5\r'))).toBe('');
    // A segment separator before the 17th field separator ends MSH: the next line is not MSH.
    expect(readMsh18(Buffer.from('MSH|^~\\&|A\r||||||||||||||||UNICODE UTF-8'))).toBe('');
  });

  it('decodes the frame with the character set MSH-18 names, else the listener default', () => {
    const latin = Buffer.concat([Buffer.from(msh('8859/1')), Buffer.from([0x50, 0x49, 0x44, 0x7c, 0xe9, 0x0d])]);
    expect(decodeHl7Bytes(latin, 'utf-8')).toEqual({ text: expect.stringContaining('PID|\u00e9'), charset: 'iso-8859-1' });
    const utf8 = Buffer.from(`${msh('')}PID|\u00e9\r`, 'utf8');
    expect(decodeHl7Bytes(utf8, 'utf-8').text).toContain('PID|\u00e9');
    expect(decodeHl7Bytes(utf8, 'iso-8859-1').charset).toBe('iso-8859-1');
    expect(charsetOfMsh18('unicode utf-8')).toBe('utf-8');
    expect(charsetOfMsh18('KOI8-R')).toBeUndefined();
  });
});
