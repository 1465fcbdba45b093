export * from './decimal';
export * from './cents';
