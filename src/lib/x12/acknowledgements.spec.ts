import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { read277ca, read999, readX12, X12ReadError } from './index';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'x12', 'ack', name));

describe('999 reader', () => {
  it('reads an accepted 999 (imsweb sample)', async () => {
    const ack = read999(await readX12(fixture('imsweb__x12_999_accepted.txt')));
    expect(ack).toEqual({
      groupControlNumber: '17456', version: '005010X223A2', groupStatus: 'A', groupStatusDescription: 'accepted',
      transactions: [{ controlNumber: '0001', status: 'A', statusDescription: 'accepted', reasons: [], errors: [] }],
    });
  });

  it('reads rejected transactions with segment and element errors in plain words (Wisconsin sample: BOM, indentation)', async () => {
    const ack = read999(await readX12(fixture('oopf__DHS_Wisconsin_Sample.txt')));
    expect(ack.groupStatus).toBe('P');
    expect(ack.groupStatusDescription).toBe('partially accepted: at least one transaction set was rejected');
    expect(ack.transactions.map((t) => [t.controlNumber, t.status])).toEqual([['0001', 'A'], ['002', 'R'], ['0003', 'R']]);
    const second = ack.transactions[1];
    expect(second?.reasons).toEqual([{ code: '5', description: 'one or more segments in error' }]);
    expect(second?.errors).toEqual([{
      segment: 'CLM', position: '22', loop: '', code: '8', description: 'segment has data element errors', context: ['CLM01:123456789'],
      elements: [{ position: '2', reference: '782', code: '1', value: '', description: 'required data element missing' }],
    }]);
    expect(ack.transactions[2]?.errors[0]).toMatchObject({ segment: 'REF', code: '3', description: 'required segment missing' });
  });

  it('refuses what is not a 999, naming the segment', async () => {
    await expect(readX12('GS*HC~')).rejects.toThrow(X12ReadError);
    const ack277 = await readX12(fixture('imsweb__x12_277CA_accepted.txt'));
    expect(() => read999(ack277)).toThrow(/^segment 3 \(ST\): not a 999 acknowledgement \(ST01 is not 999\)$/);
    // Cut short: a SE count that is wrong, a missing trailer.
    const text = fixture('imsweb__x12_999_accepted.txt').toString('latin1');
    await expect(readX12(text.replace('SE*6*0001', 'SE*7*0001')).then(read999)).rejects.toThrow('segment 8 (SE): SE01 says 7 segments, the transaction set has 6');
    await expect(readX12(text.slice(0, text.indexOf('SE*'))).then(read999)).rejects.toThrow('the file ends inside transaction set 0001: SE missing');
  });
});

describe('277CA reader', () => {
  it('reads the claim status, the patient control number and the payer claim number (imsweb sample)', async () => {
    const ack = read277ca(await readX12(fixture('imsweb__x12_277CA_accepted.txt')));
    expect(ack.claims).toEqual([{
      patientControlNumber: '5781', payerClaimControlNumber: '1107000000014420', batchTrace: '000000674', position: expect.any(Number) as number,
      statuses: [{ category: 'A2', code: '20', entity: '', description: 'acknowledgement: accepted into the adjudication system', amount: '125' }],
    }]);
  });

  it('reads 277CAs with a BOM and indented segments, and refuses one cut short', async () => {
    const bogey = await readX12(fixture('oopf__FromBogeyone.txt'));
    // This one is cut short after its second HL: refused whole.
    expect(() => read277ca(bogey)).toThrow('segment 10 (HL): the file ends inside transaction set 0001: SE missing');
    const latitude = read277ca(await readX12(fixture('oopf__FromLatitude81uk.txt')));
    expect(latitude.claims).toEqual([expect.objectContaining({ patientControlNumber: 'MVC132-0145454', payerClaimControlNumber: '545454', batchTrace: '3078' })]);
    expect(latitude.claims[0]?.statuses[0]).toMatchObject({ category: 'A2', code: '20', entity: 'PRP' });
  });
});
