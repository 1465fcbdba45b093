export * from './writer';
export * from './envelope';
export * from './claim837';
export * from './batch837';
export * from './reader';
export * from './acknowledgements';
export * from './remittance835';
export * from './payer835';
