/**
 * Production traffic, whichever way the fleet switches it: the weights of the production
 * listener rule, or the weights of the Route 53 records (when the fleet config has `route53`).
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { Colour, FleetConfig } from '../../lib/private/contract';
import { switchName } from './config';
import { Sleep } from './deps';
import { DNS_SYNC_BUDGET_MS, readRecordWeights, setRecordWeights, waitForChange } from './dns';
import { FleetStateConflict } from './errors';
import { CapacityChange, productionStickiness, readRuleWeights, RuleWeights, setCapacity, setRuleWeights, WeightChange } from './fleet';

/** The clients production traffic is read and moved with. */
export interface TrafficClients {
  readonly elbv2: ElasticLoadBalancingV2Client;
  /** Needed when the fleet switches traffic with Route 53 records. */
  readonly route53?: Route53Client;
}

export { switchName } from './config';

/** What a production weight change did. */
export interface TrafficChange extends WeightChange {
  /** Route 53 only: the change id, whether it was INSYNC before the budget ran out, and after how long. */
  readonly dnsChangeId?: string;
  readonly inSync?: boolean;
  readonly syncMs?: number;
}

function route53Of(clients: TrafficClients): Route53Client {
  if (!clients.route53) {
    throw new TypeError('The fleet switches traffic with Route 53 records but the handler was given no Route 53 client.');
  }
  return clients.route53;
}

function productionRuleOf(config: FleetConfig): string {
  if (!config.productionRuleArn) {
    throw new TypeError(`The fleet config of '${config.fleetId}' has neither a productionRuleArn nor route53: redeploy the stack.`);
  }
  return config.productionRuleArn;
}

/** Which percentage of production traffic each colour gets. */
export async function readProductionWeights(clients: TrafficClients, config: FleetConfig): Promise<RuleWeights> {
  if (config.route53) return readRecordWeights(route53Of(clients), config);
  return readRuleWeights(clients.elbv2, productionRuleOf(config), config);
}

/**
 * Sets production weights with one mutating call (none if they are already so): ModifyRule on
 * the production rule (with the fleet's stickiness for a split), or one ChangeResourceRecordSets
 * that UPSERTs both records, then a wait of up to `syncBudgetMs` for the change to be INSYNC.
 */
export async function setProductionWeights(
  clients: TrafficClients,
  config: FleetConfig,
  weights: RuleWeights,
  options: { now: () => Date; sleep?: Sleep; syncBudgetMs?: number },
): Promise<TrafficChange> {
  if (!config.route53) {
    return setRuleWeights(clients.elbv2, productionRuleOf(config), config, weights, options.now, productionStickiness(config, weights));
  }
  const route53 = route53Of(clients);
  const change = await setRecordWeights(route53, config, weights, options.now);
  if (!change.changeInfo) return { changed: change.changed, before: change.before, callMs: change.callMs };
  const sync = await waitForChange(route53, change.changeInfo, { now: options.now, sleep: options.sleep, budgetMs: options.syncBudgetMs ?? DNS_SYNC_BUDGET_MS });
  return {
    changed: change.changed,
    before: change.before,
    callMs: change.callMs,
    dnsChangeId: change.changeInfo.Id,
    inSync: sync.inSync,
    syncMs: sync.waitedMs,
  };
}

/**
 * Scales a colour to zero (min 0, desired 0, max unchanged), only if it is not already, and
 * never while production traffic goes to it: the weights are read again first.
 */
export async function scaleColourToZero(
  clients: TrafficClients & { readonly autoScaling: AutoScalingClient },
  config: FleetConfig,
  colour: Colour,
): Promise<CapacityChange> {
  const weights = await readProductionWeights(clients, config);
  if (weights[colour] > 0) {
    const sends = config.route53 ? 'send' : 'sends';
    throw new FleetStateConflict(
      `Refusing to scale ${colour} to zero: ${switchName(config)} ${sends} it ${weights[colour]}% of the traffic ` +
      `(blue ${weights.blue}%, green ${weights.green}%). Move the traffic off ${colour} first. Nothing was changed.`,
    );
  }
  return setCapacity(clients.autoScaling, config.colours[colour].autoScalingGroupName, { min: 0, desired: 0 });
}
