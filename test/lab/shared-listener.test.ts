import { DescribeRulesCommand, Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CutoverErrorName, SmokeCheck } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab } from '../../lab/lab';
import { alarmName, fleetState, LAB_PROPS, mutations, runObserving } from './lab-fixture';

/**
 * Two fleets behind one load balancer: the stack's HTTP listener (80) and test listener (8080) are
 * the platform's, and each fleet adds a host-header rule to both (Web: web.example.com, priority
 * 10; Api: api.example.com, priority 20). Each fleet cuts over and rolls back through its own
 * rules; the other fleet's rules, groups, parameters and lock stay as they were.
 */
let lab: Lab;
beforeAll(async () => { lab = await Lab.start({ ...LAB_PROPS, sharedListener: true }); }, 120_000);
afterAll(async () => { await lab?.stop(); });

/** Everything of one fleet that another fleet's cutover must not touch: its rules as ALB reports them, groups, releases, lock. */
async function snapshot(fleet: 'Web' | 'Api') {
  lab.useFleet(fleet);
  const rules = (await lab.clients.elbv2.send(new DescribeRulesCommand({ RuleArns: [lab.config.productionRuleArn, lab.config.testRuleArn] }))).Rules!;
  const shape = (r: Rule) => ({ priority: r.Priority, conditions: r.Conditions, actions: r.Actions });
  return { rules: rules.map(shape), ...(await fleetState(lab)) };
}

test('the two fleets\' rules sit on the same two listeners with their own host names and priorities', async () => {
  const arns: string[] = [];
  for (const [fleet, host, priority] of [['Web', 'web.example.com', '10'], ['Api', 'api.example.com', '20']] as const) {
    lab.useFleet(fleet);
    expect(lab.config.testHost).toBe(host);
    const rules = (await lab.clients.elbv2.send(new DescribeRulesCommand({ RuleArns: [lab.config.productionRuleArn, lab.config.testRuleArn] }))).Rules!;
    for (const r of rules) {
      expect(r.Priority).toBe(priority);
      expect(JSON.stringify(r.Conditions)).toContain(host);
    }
    arns.push(...rules.map((r) => r.RuleArn!.split('/').slice(0, -1).join('/')));
  }
  // Rule ARNs name their listener: two listeners in all, each holding one rule of each fleet.
  expect(new Set(arns).size).toBe(2);
});

test('Web cuts over and then rolls back on an alarm; Api is untouched throughout', async () => {
  const api = await snapshot('Api');

  lab.useFleet('Web');
  const release = await lab.runCutover({ version: '2.0.0' });
  expect(release.status).toBe('SUCCEEDED');
  expect((await fleetState(lab)).production).toEqual({ blue: 0, green: 100 });
  // The smoke tests reached Web's test rule: they sent Web's host name (the emulated listener
  // answers 404 to any other), and checked the version Web's green serves.
  expect(release.states).toContain(STATE_NAMES.smoke);

  const { result } = await runObserving(lab, { version: '3.0.0' }, { state: STATE_NAMES.bake, n: 0, alarm: alarmName(lab, 'checkout') });
  expect(result.status).toBe('FAILED');
  expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
  expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack))).toEqual([`${STATE_NAMES.rollBack}: ModifyRule`]);
  const web = await fleetState(lab);
  expect(web.production).toEqual({ blue: 0, green: 100 });
  expect(web.greenRelease.version).toBe('2.0.0');
  expect(web.lock).toBeUndefined();

  expect(await snapshot('Api')).toEqual(api);
}, 120_000);

test('then Api cuts over on the same listeners; Web stays where its rollback left it', async () => {
  const web = await snapshot('Web');

  lab.useFleet('Api');
  const result = await lab.runCutover({ version: '5.0.0' });
  expect(result.status).toBe('SUCCEEDED');
  const api = await fleetState(lab);
  expect(api.production).toEqual({ blue: 0, green: 100 });
  expect(api.greenRelease.version).toBe('5.0.0');
  expect(api.blue.desired).toBe(0);
  expect(api.lock).toBeUndefined();

  expect(await snapshot('Web')).toEqual(web);
}, 120_000);

test('a smoke check that sends another fleet\'s host name does not reach the fleet: the release fails its smoke tests, traffic stays', async () => {
  await lab.reset({
    ...LAB_PROPS,
    sharedListener: true,
    cutover: { ...LAB_PROPS.cutover, smokeChecks: [SmokeCheck.http({ path: '/health', requestHeaders: { host: 'api.example.com' } })] },
  });
  lab.useFleet('Web');
  const result = await lab.runCutover({ version: '2.0.0' });
  expect(result.status).toBe('FAILED');
  expect(result.error).toBe(CutoverErrorName.SMOKE_TEST_FAILED);
  expect(result.cause).toContain('expected status 200, got 404');
  const web = await fleetState(lab);
  expect(web.production).toEqual({ blue: 100, green: 0 });
  expect(web.green.desired).toBe(0);
  expect(web.lock).toBeUndefined();
}, 120_000);
