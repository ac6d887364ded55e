export * from './private/contract';
export * from './fleet-props';
export * from './fleet-colour';
export * from './blue-green-fleet';
export * from './cutover-options';
export * from './cutover-workflow';
export * from './dns-records';
export * from './traffic-switch';
export { WARNING_IDS } from './private/validation';
