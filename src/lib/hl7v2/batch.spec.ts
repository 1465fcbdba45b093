import { splitBatch, isBatch } from './batch';

const msh = (id: string): string => `MSH|^~\\&|A|B|C|D|20240101||ADT^A04|${id}|P|2.5\rPID|1||${id}\r`;

describe('splitBatch', () => {
  it('splits a plain multi-message file at each MSH, keeping each message as written', () => {
    const text = msh('1') + '\r\n' + msh('2');
    const r = splitBatch(text);
    expect(r.errors).toEqual([]);
    expect(r.messages).toEqual([msh('1') + '\r\n', msh('2')]);
    expect(r.envelope).toBeUndefined();
  });

  it('unwraps FHS/BHS/BTS/FTS and checks the counts', () => {
    const text = `FHS|^~\\&|S|F|||20240101||||FILE1\rBHS|^~\\&|S|F|||20240101||||B1\r${msh('1')}${msh('2')}BTS|2\rFTS|1\r`;
    const r = splitBatch(text);
    expect(r.errors).toEqual([]);
    expect(r.messages).toHaveLength(2);
    expect(r.envelope).toMatchObject({ fileControlId: 'FILE1', batchControlIds: ['B1'] });
    expect(isBatch(text)).toBe(true);
  });

  it('names what is wrong with a bad envelope', () => {
    expect(splitBatch(`BHS|^~\\&\r${msh('1')}BTS|3\r`).errors.map((e) => e.message)).toEqual(['BTS-1: BTS-1 says 3 messages, the batch holds 1']);
    expect(splitBatch(`BHS|^~\\&\rEVN|A04\r${msh('1')}BTS|1\r`).errors[0]?.message).toMatch(/EVN outside a message/);
    expect(splitBatch(`BHS|^~\\&\r${msh('1')}`).errors[0]?.message).toMatch(/not closed by BTS/);
    expect(splitBatch('no hl7 here').errors[0]?.message).toMatch(/outside a message|no MSH/);
    expect(splitBatch('').errors[0]?.message).toMatch(/no MSH/);
  });
});
