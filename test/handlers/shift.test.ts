import { DescribeRulesCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Colour } from '../../lib/private/contract';
import { shift } from '../../lambda/shift/shift';
import { clock, deployState, FakeAws, FLEET, throttling } from './fake-aws';

const aws = new FakeAws();
const time = clock();
const deps = () => ({ elbv2: aws.elbv2, dynamoDb: aws.dynamoDb, config: FLEET, now: time.now });

beforeEach(() => aws.reset());

describe('shift', () => {
  it('moves all traffic to green with one ModifyRule call', async () => {
    const out = await shift({ state: deployState(), weight: 100 }, deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.elbv2Mock).toHaveReceivedCommandWith(ModifyRuleCommand, {
      RuleArn: FLEET.productionRuleArn,
      Actions: [{
        Type: 'forward',
        Order: 1,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: FLEET.colours.blue.targetGroupArn, Weight: 0 },
            { TargetGroupArn: FLEET.colours.green.targetGroupArn, Weight: 100 },
          ],
          TargetGroupStickinessConfig: { Enabled: false },
        },
      }],
    });
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 0, green: 100 });
    expect(out).toMatchObject({ trafficMoved: true, targetWeight: 100 });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Shift all traffic']);
  });

  it('moves a canary step of 10% to the target', async () => {
    const out = await shift({ state: deployState(), weight: 10 }, deps());

    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 90, green: 10 });
    expect(out).toMatchObject({ trafficMoved: true, targetWeight: 10 });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Shift 10% of traffic']);
  });

  it('makes no call when the weights are already so (a retried task)', async () => {
    await shift({ state: deployState(), weight: 100 }, deps());
    aws.resetHistory();

    const out = await shift({ state: deployState(), weight: 100 }, deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeRulesCommand, 1);
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(out.trafficMoved).toBe(true);
  });

  it('keeps stickiness settings and the rule\'s other actions', async () => {
    aws.rules.set(FLEET.productionRuleArn, [
      {
        Type: 'authenticate-oidc',
        Order: 1,
        AuthenticateOidcConfig: { Issuer: 'https://idp.example.com', AuthorizationEndpoint: 'https://idp.example.com/auth', TokenEndpoint: 'https://idp.example.com/token', UserInfoEndpoint: 'https://idp.example.com/userinfo', ClientId: 'web' },
      },
      {
        Type: 'forward',
        Order: 2,
        ForwardConfig: {
          TargetGroups: [{ TargetGroupArn: FLEET.colours.blue.targetGroupArn, Weight: 1 }, { TargetGroupArn: FLEET.colours.green.targetGroupArn, Weight: 0 }],
          TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
        },
      },
    ]);

    await shift({ state: deployState(), weight: 100 }, deps());

    const actions = aws.rules.get(FLEET.productionRuleArn)!;
    expect(actions[0]).toMatchObject({ Type: 'authenticate-oidc', AuthenticateOidcConfig: { ClientId: 'web', UseExistingClientSecret: true } });
    expect(actions[1].ForwardConfig?.TargetGroupStickinessConfig).toEqual({ Enabled: true, DurationSeconds: 300 });
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 0, green: 100 });
  });

  it('moves traffic to the warm previous colour for a rollback execution', async () => {
    aws.setWeights(FLEET.productionRuleArn, 0, 100);

    const out = await shift({ state: deployState({ action: 'rollback', live: Colour.GREEN, target: Colour.BLUE }), weight: 100 }, deps());

    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Move traffic to the previous colour']);
  });

  it('rejects a weight outside 0-100 without calling AWS', async () => {
    await expect(shift({ state: deployState(), weight: 150 }, deps())).rejects.toThrow('shift: weight must be an integer percentage from 0 to 100, got 150.');
    expect(aws.elbv2Mock.calls()).toHaveLength(0);
  });

  it('surfaces a throttling error from ModifyRule', async () => {
    aws.elbv2Mock.on(ModifyRuleCommand).rejects(throttling());

    await expect(shift({ state: deployState(), weight: 100 }, deps())).rejects.toMatchObject({ name: 'Throttling' });
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
  });
});
