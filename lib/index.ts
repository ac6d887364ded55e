export * from './contract';
export * from './fleet-props';
export * from './fleet-colour';
export * from './blue-green-fleet';
export { WARNING_IDS } from './validation';
